/**
 * Reads a dropped file into one ArrayBuffer chunk by chunk (File.stream()), calling `onProgress`
 * with the bytes read so far, so a large GGUF shows how far along it is.
 */
export async function readFileWithProgress(file: Blob, onProgress: (loaded: number, total: number) => void): Promise<ArrayBuffer> {
  const total = file.size;
  const bytes = new Uint8Array(total);
  const reader = file.stream().getReader();
  let loaded = 0;
  onProgress(0, total);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    bytes.set(value.subarray(0, Math.max(0, total - loaded)), loaded);
    loaded += value.length;
    onProgress(Math.min(loaded, total), total);
  }
  return bytes.buffer;
}
