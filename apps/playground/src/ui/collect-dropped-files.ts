/** A dropped or chosen file with its path inside the drop ("tiny-model/config.json"; a lone file: its name). */
export interface DroppedFile {
  readonly path: string;
  readonly file: File;
}

/** The parts of FileSystemEntry (webkitGetAsEntry) used here, so tests can hand in plain objects. */
export interface DroppedEntry {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
  file?(success: (file: File) => void, failure?: (error: unknown) => void): void;
  createReader?(): { readEntries(success: (entries: DroppedEntry[]) => void, failure?: (error: unknown) => void): void };
}

function entryFile(entry: DroppedEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file!(resolve, reject));
}

/** All entries of a directory: readEntries hands them out in batches (Chromium: 100) until an empty one. */
async function directoryEntries(entry: DroppedEntry): Promise<DroppedEntry[]> {
  const reader = entry.createReader!();
  const all: DroppedEntry[] = [];
  for (;;) {
    const batch = await new Promise<DroppedEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** Walks dropped entries (files and whole directories, depth first), collecting every file with its relative path. */
export async function collectEntries(entries: readonly DroppedEntry[], prefix = ""): Promise<DroppedFile[]> {
  const files: DroppedFile[] = [];
  for (const entry of entries) {
    const path = `${prefix}${entry.name}`;
    if (entry.isFile) files.push({ path, file: await entryFile(entry) });
    else if (entry.isDirectory) files.push(...(await collectEntries(await directoryEntries(entry), `${path}/`)));
  }
  return files;
}

/**
 * The files of a drop: a dropped folder is walked through DataTransferItem.webkitGetAsEntry (the
 * entries must be taken before the drop handler returns, so this reads them synchronously first);
 * where the browser gives no entries, the plain file list.
 */
export function collectDroppedFiles(transfer: DataTransfer): Promise<DroppedFile[]> {
  const entries = [...transfer.items]
    .filter((item) => item.kind === "file")
    .map((item) => item.webkitGetAsEntry?.() as DroppedEntry | null | undefined)
    .filter((entry): entry is DroppedEntry => entry !== null && entry !== undefined);
  if (entries.length > 0 && entries.some((entry) => entry.isDirectory)) return collectEntries(entries);
  return Promise.resolve([...transfer.files].map((file) => ({ path: file.name, file })));
}

/** The files of an <input type=file webkitdirectory> (or a plain multiple input), with their relative paths. */
export function inputFiles(files: FileList | readonly File[]): DroppedFile[] {
  return [...files].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** A drop is a Hugging Face model folder when it holds a config.json (at its top or one folder down). */
export function isModelFolder(files: readonly DroppedFile[]): boolean {
  return files.some((file) => /^([^/]+\/)?config\.json$/.test(file.path));
}
