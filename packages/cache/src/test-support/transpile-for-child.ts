import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const sourceDirectory = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Transpiles package source files (TS → ESM JS, same relative names) into `outDirectory`, so a
 * child process under plain Node can run the real code without a build step.
 */
export async function transpileForChild(files: readonly string[], outDirectory: string): Promise<void> {
  await mkdir(outDirectory, { recursive: true });
  for (const file of files) {
    const source = await readFile(join(sourceDirectory, file), "utf8");
    const output = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: file,
    });
    await writeFile(join(outDirectory, file.replace(/\.ts$/, ".js")), output.outputText);
  }
}
