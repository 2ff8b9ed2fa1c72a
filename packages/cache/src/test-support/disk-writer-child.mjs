// Child process for the crash test: writes pages in a loop through the real DiskPageStore and
// reports each completed put to the parent, until the parent SIGKILLs it.
// argv: <directory of transpiled modules> <store directory> <page bytes> <distinct keys>
const [modules, storeDirectory, pageBytesText, keysText] = process.argv.slice(2);
const { DiskPageStore } = await import(`${modules}/disk-page-store.js`);
const pageBytes = Number(pageBytesText);
const distinctKeys = Number(keysText);
const store = await DiskPageStore.open(storeDirectory);

export function pagePayload(sequence, length) {
  const bytes = new Uint8Array(length);
  new DataView(bytes.buffer).setUint32(0, sequence, true);
  for (let i = 4; i < length; i++) bytes[i] = (sequence * 131 + i * 7) & 0xff;
  return bytes;
}

for (let sequence = 0; ; sequence++) {
  await store.put(`page-${sequence % distinctKeys}`, pagePayload(sequence, pageBytes));
  process.send({ completed: sequence });
}
