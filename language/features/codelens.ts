/**
 * CodeLens spans: one "run" lens per runnable section (Run Tuning, Extract direction, Run block search, Compute
 * perplexity, Run A/B evaluation, Compare steering, Export), attached to the section header, with the command
 * id from protocol/lsp.ts. The server adds the document URI and LSP range to the arguments and the inline
 * result lenses. Lenses appear even when the file has errors: the command reports them when it runs.
 * Non-goals: running anything.
 */

import { RtuneCommandId, RtuneCommands } from '../../protocol/lsp';
import type { Analysis, SectionInfo } from '../lower';
import { Span } from '../text';

export interface RunLens {
  readonly span: Span;
  readonly title: string;
  readonly command: RtuneCommandId;
  readonly section: SectionInfo;
}

export function codeLenses(a: Analysis): RunLens[] {
  const out: RunLens[] = [];
  for (const s of a.sections) {
    const lens = (title: string, command: RtuneCommandId): void => {
      out.push({ span: s.headerSpan, title, command, section: s });
    };
    switch (s.kind) {
      case 'direction':
        lens('Extract direction', RtuneCommands.extractDirection);
        break;
      case 'tune':
        lens('Run Tuning', RtuneCommands.runTuning);
        break;
      case 'search':
        lens('Run block search', RtuneCommands.runBlockSearch);
        break;
      case 'eval':
        if (s.values.has('perplexity')) lens('Compute perplexity', RtuneCommands.computePerplexity);
        if (s.values.has('ab')) lens('Run A/B evaluation', RtuneCommands.runEvaluation);
        if (s.values.has('steering')) lens('Compare steering', RtuneCommands.compareSteering);
        break;
      case 'export':
        lens('Export', RtuneCommands.runExport);
        break;
      case 'model':
      case 'prompts':
        break;
    }
  }
  return out;
}
