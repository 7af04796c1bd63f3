// Writes the report directory: report.json (every raw sample), its JSON Schema, report.md and the charts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allCharts } from './charts.js';
import { markdownReport } from './markdown.js';
import { type Report, reportJsonSchema } from './report-schema.js';

export function writeReport(report: Report, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const charts = allCharts(report);
  const files: Record<string, string> = {
    'report.json': `${JSON.stringify(report, null, 1)}\n`,
    'report.schema.json': `${JSON.stringify(reportJsonSchema(), null, 1)}\n`,
    'report.md': markdownReport(report, Object.keys(charts)),
    ...charts,
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return Object.keys(files);
}
