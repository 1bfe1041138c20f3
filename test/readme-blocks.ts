// The README's fenced blocks, for test/package/readme.test.ts (Linux) and test/win/readme.test.ts
// (the Windows suite): which are examples, where they sit, how each runs as a CommonJS script.
import * as ts from 'typescript';

export interface Block {
  lang: string;
  line: number; // of the opening fence, 1-based
  heading: string;
  code: string;
  skip?: string;
  /** Marked `<!-- example: windows -->`: run by the Windows suite, type-checked on Linux. */
  windows?: boolean;
}

/** Every fenced block of the README, with the heading it sits under and its skip marker, if any. */
export function blocksOf(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (h) heading = h[1].replace(/`/g, '').trim();
    const open = /^```\s*([\w+-]*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i === lines.length) throw new Error(`README.md:${start + 1}: the code fence is never closed`);
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? /^<!--\s*example:\s*skip\s*\((.+)\)\s*-->$/.exec(lines[before].trim()) : null;
    const windows = before >= 0 && /^<!--\s*example:\s*windows\s*-->$/.test(lines[before].trim());
    blocks.push({ lang: open[1].toLowerCase(), line: start + 1, heading, code: body.join('\n'), skip: marker?.[1], windows });
  }
  return blocks;
}

export const JS = new Set(['js', 'javascript']);
export const TS = new Set(['ts', 'typescript']);

export const where = (b: Block): string => `${b.heading} (README.md:${b.line})`;

/** The example as a CommonJS script. */
export function script(block: Block): string {
  let code = block.code;
  if (TS.has(block.lang)) {
    const out = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      reportDiagnostics: true,
      fileName: `README.md-${block.line}.ts`,
    });
    const problems = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    if (problems.length > 0) throw new Error(`${where(block)} does not compile: ${problems.join('; ')}`);
    code = out.outputText;
  }
  return [
    `let exampleFinished = false; (async () => { ${code}`,
    '})().then(',
    '  () => { exampleFinished = true; },',
    '  (error) => { exampleFinished = true; console.error(error); process.exitCode = 1; },',
    ');',
    "process.on('exit', (code) => {",
    '  if (!exampleFinished && code === 0) {',
    "    console.error('the example exited while still waiting: a promise that nothing will settle');",
    '    process.exitCode = 13;',
    '  }',
    '});',
    '',
  ].join('\n');
}
