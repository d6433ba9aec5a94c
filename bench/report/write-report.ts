/** Writes a benchmark report to disk: the raw JSON, the Markdown report and its SVG charts, side by side. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarkdown } from './markdown.js';
import type { BenchReport } from './types.js';

/**
 * Creates `dir` if needed and writes `<stem>.json`, `<stem>.md` and `<stem>-<chart>.svg` into it (the Markdown
 * links the charts by these relative names, so several reports can share a directory). Returns the paths written.
 */
export function writeReport(report: BenchReport, dir: string, stem: string): { json: string; markdown: string; charts: string[] } {
  if (stem === '' || /[/\\]/.test(stem)) throw new Error(`report stem must be a plain file name, got ${JSON.stringify(stem)}`);
  mkdirSync(dir, { recursive: true });
  const { markdown, charts } = renderMarkdown(report, (name) => `${stem}-${name}`);

  const jsonPath = join(dir, `${stem}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const chartPaths = charts.map(({ name, svg }) => {
    const path = join(dir, `${stem}-${name}`);
    writeFileSync(path, svg);
    return path;
  });
  const markdownPath = join(dir, `${stem}.md`);
  writeFileSync(markdownPath, markdown);
  return { json: jsonPath, markdown: markdownPath, charts: chartPaths };
}
