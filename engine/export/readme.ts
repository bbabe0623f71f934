/**
 * The README.md of an export folder: what each file is and, for a GGUF control vector, which layers it holds,
 * that layer 0 is never among them (llama.cpp cannot apply a control vector to block 0 and rejects
 * `direction.0`), and the llama.cpp command line that applies it. The tuned weights' own README is model/README.md
 * (hf.ts). Non-goals: writing files (the caller writes the text atomically).
 */

export interface ControlVectorInfo {
  /** File name inside the export folder. */
  file: string;
  /** The direction's position the vectors come from. */
  position: number;
  /** Layers written, ascending. */
  layers: readonly number[];
  /** Layers asked for but left out (layer 0). */
  leftOut: readonly number[];
  /** Where the layers came from, e.g. "tune honest's layers". */
  layersFrom: string;
}

export interface ExportReadme {
  /** Export section name. */
  name: string;
  /** Folder of the HF weights, when written, and which weights it holds. */
  model?: string;
  weights?: 'full' | 'changed';
  direction?: {
    name: string;
    /** direction.safetensors, when written, with every extracted layer and position. */
    safetensors?: { file: string; layers: readonly number[]; positions: readonly number[] };
    gguf?: ControlVectorInfo;
  };
}

/** The llama.cpp command line that applies a control vector written by this engine. */
export function llamaCppCommand(g: ControlVectorInfo): string {
  const lo = Math.min(...g.layers);
  const hi = Math.max(...g.layers);
  return `llama-cli -m MODEL.gguf --control-vector-scaled ${g.file} STRENGTH --control-vector-layer-range ${lo} ${hi}`;
}

/** One sentence on the GGUF's layers, for the README, the export's result and its headline. */
export function controlVectorLayersNote(g: ControlVectorInfo): string {
  const list = (xs: readonly number[]) => xs.join(', ');
  const out = `layer${g.layers.length > 1 ? 's' : ''} ${list(g.layers)} (${g.layersFrom}) from position ${g.position}`;
  return g.leftOut.length > 0 ? `${out}; layer ${list(g.leftOut)} left out: llama.cpp cannot apply a control vector to block 0` : out;
}

export function exportReadme(r: ExportReadme): string {
  const lines = [`# rtune export \`${r.name}\``, ''];
  if (r.model !== undefined) {
    lines.push(
      r.weights === 'changed'
        ? `- \`${r.model}/\`: the tensors the tune changed (Hugging Face names), with config.json and the tokenizer; ${r.model}/README.md says how to apply them to the base.`
        : `- \`${r.model}/\`: the tuned model as a complete Hugging Face folder (weights, config.json, tokenizer; see ${r.model}/README.md).`,
    );
  }
  const d = r.direction;
  if (d?.safetensors) {
    lines.push(
      `- \`${d.safetensors.file}\`: direction \`${d.name}\`, one vector per layer (${d.safetensors.layers.join(', ')}) and position (${d.safetensors.positions.join(', ')}), with its metadata.`,
    );
  }
  if (d?.gguf) lines.push(`- \`${d.gguf.file}\`: direction \`${d.name}\` as a llama.cpp control vector: ${controlVectorLayersNote(d.gguf)}.`);
  lines.push('');
  if (d?.gguf) {
    const g = d.gguf;
    const n = g.layers.length;
    lines.push(
      `## ${g.file} in llama.cpp`,
      '',
      `It holds \`direction.L\` for layer${n > 1 ? 's' : ''} L = ${g.layers.join(', ')}: llama.cpp adds STRENGTH · v_L to the output of block L ` +
        '(the same block output rtune steers) at every token, so it steers exactly these layers.' +
        (g.leftOut.length > 0
          ? ` Layer ${g.leftOut.join(', ')} was asked for (${g.layersFrom}) but left out: llama.cpp cannot apply a control vector to block 0 and rejects \`direction.0\`.`
          : ''),
      '',
      '```sh',
      llamaCppCommand(g),
      '```',
      '',
      "MODEL.gguf is the model converted with llama.cpp's `convert_hf_to_gguf.py` (the base model, or the tuned one). " +
        (n > 1
          ? `STRENGTH k on these ${n} layers is rtune's \`steering { layers [${g.layers.join(', ')}]  combine true  multipliers [${n}·k] }\` with \`scale absolute\` (combine splits the multiplier over the layers).`
          : `STRENGTH k is rtune's \`steering { layers [${g.layers[0]}]  multipliers [k] }\` with \`scale absolute\`.`) +
        ' A negative STRENGTH steers the other way.',
      '',
    );
  }
  return lines.join('\n');
}
