// A node:test reporter that writes one JSON line per skipped test or suite ({ file, name, reason }),
// for scripts/test.mjs to list at the end of `npm test`.
export default async function* skipsReporter(source) {
  for await (const event of source) {
    const { skip, name, file } = event.data ?? {};
    if (event.type === 'test:pass' && skip !== undefined && skip !== false) yield JSON.stringify({ file, name, reason: skip === true ? '(no reason given)' : skip }) + '\n';
  }
}
