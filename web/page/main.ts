// Entry of the static build (`npm run build:web`): the engine worker first, then the renderer's own
// entry, unchanged. ES modules run their imports in order.
import './start-engine-worker.ts';
import '../../renderer/main.ts';
