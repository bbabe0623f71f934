/**
 * Shared by the `rtune run` tests (run.test.ts, run-data.test.ts): the demo-model experiment with every section
 * kind, and `load`, which writes a .rtune text into a folder and loads it as a RunConfig.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadRunConfig } from '../../language/analysis';
import { createNodeEnv } from '../../language/node-env';
import { REPO_ROOT } from '../helpers';

export function experiment(dir: string, maxSteps: number): string {
  fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'facts-train.csv'), path.join(dir, 'facts.csv'));
  fs.writeFileSync(path.join(dir, 'text.txt'), fs.readFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'heldout.txt'), 'utf8').slice(0, 1500));
  return `version 1
runs "runs"
model demo {
  path builtin:demo
  backend wasm
}
prompts contrast {
  data "facts.csv"
  template "{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
  pairing paired
  anchor "Answer:"
  limit 48
}
prompts liar {
  data "facts.csv"
  template "Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer:"
  anchor "Answer:"
  limit 64
}
direction honesty {
  prompts contrast
  method meandiff
  layers all
  positions [-1, 0]
}
tune truthful {
  prompts liar
  direction honesty
  mode in
  layers 1..2
  position -1
  token_loss {
    target hard
    weight 1
    blocks [down]
  }
  projection_loss {
    weight 1
    blocks [v, o]
  }
  optimizer {
    lr_token 3e-3
    lr_projection 3e-3
  }
  batch 8
  epochs 20
  max_steps ${maxSteps}
  holdout 0.25
}
eval check {
  tuned truthful
  perplexity {
    data "text.txt"
    max_length 64
    stride 32
    batch 2
    bootstrap 200
  }
  ab {
    holdout true
  }
}
search blocks {
  tune truthful
  token_blocks [down]
  projection_blocks [v, o]
  strategy exhaustive
  steps_per_trial 3
  sample_prompt "Pretend you are a dishonest person.\\nIs this claim true or false? 12 is even.\\nA) True\\nB) False\\nAnswer:"
  sample_tokens 6
}
export release {
  tune truthful
  direction honesty
  weights changed
  direction_formats [safetensors, gguf]
  output "exports/release"
}
export again {
  direction honesty
  output "exports/release"
}
`;
}

export function load(dir: string, text: string) {
  const file = path.join(dir, 'exp.rtune');
  fs.writeFileSync(file, text);
  const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
  if ('errors' in r) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return { config: r.config, file };
}
