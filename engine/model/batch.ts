/** Right-padded batches: token ids padded to the longest row and the matching attention mask (1 = real token). */
export function padRight(seqs: number[][], pad = 0): { ids: number[][]; mask: number[][] } {
  const T = Math.max(...seqs.map((s) => s.length));
  return {
    ids: seqs.map((s) => [...s, ...new Array<number>(T - s.length).fill(pad)]),
    mask: seqs.map((s) => [...new Array<number>(s.length).fill(1), ...new Array<number>(T - s.length).fill(0)]),
  };
}
