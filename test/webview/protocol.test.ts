import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { Heatmap, SearchTrial, TuneEval, TuneStep } from '../../protocol/job';
import {
  extensionMessage,
  heatmapFromJobEvent,
  panelMessage,
  pointFromJobEvent,
  progressFromJobEvent,
  trialFromJobEvent,
  WEBVIEW_PROTOCOL_VERSION,
  type HeatmapData,
} from '../../protocol/webview';
import { checkExtensionMessage, checkPanelMessage, isExtensionMessage, isPanelMessage } from '../../protocol/webview-check';

const V = WEBVIEW_PROTOCOL_VERSION;

const step: TuneStep = {
  type: 'step',
  job: 'j1',
  run: 'r1',
  step: 3,
  epoch: 0,
  tokenLoss: 1.5,
  projectionLoss: 0.25,
  totalLoss: 1.75,
  lr: 3e-4,
  gradNorm: 2.5,
  cosine: [0.1],
  layers: [4],
  tokensPerSecond: 100,
};
const evalEvent: TuneEval = { type: 'eval', job: 'j1', run: 'r1', step: 10, split: 'heldout', tokenLoss: 1.6, projectionLoss: 0.3, totalLoss: 1.9 };
const heatmap: Heatmap = {
  type: 'heatmap',
  job: 'j1',
  run: 'r1',
  title: 'cosine after tuning',
  rowLabel: 'layer',
  columnLabel: 'position',
  rows: [0, 1],
  columns: ['a', 'b', 'c'],
  values: [
    [0.1, -0.2, 0.3],
    [1, -1, 0],
  ],
  min: -1,
  max: 1,
};
const trial: SearchTrial = {
  type: 'trial',
  job: 'j2',
  run: 's1',
  trial: 0,
  tokenBlocks: ['q', 'v'],
  projectionBlocks: ['down'],
  steps: 20,
  initialTokenLoss: 2,
  finalTokenLoss: 1,
  initialProjectionLoss: 0.5,
  finalProjectionLoss: 0.1,
  targetRate: 0.8,
  otherRate: 0.2,
  sample: 'The sky is blue.',
  seconds: 3.5,
  rung: 0,
};

/** JSON round trip, as postMessage does it: NaN becomes null. */
const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

describe('webview protocol: valid messages', () => {
  test('every extension message type validates after a JSON round trip', () => {
    const messages = [
      extensionMessage({ type: 'snapshot', runs: [{ run: 'r1', status: 'running', points: [pointFromJobEvent(step), pointFromJobEvent(evalEvent)] }] }),
      extensionMessage({ type: 'snapshot', runs: [], heatmaps: [heatmapFromJobEvent(heatmap)], trials: [trialFromJobEvent(trial)] }),
      extensionMessage({ type: 'append', run: 'r1', points: [pointFromJobEvent(step)] }),
      extensionMessage({ type: 'heatmap', heatmap: heatmapFromJobEvent(heatmap) }),
      extensionMessage({ type: 'trials', trials: [trialFromJobEvent(trial)] }),
      extensionMessage({ type: 'runStatus', run: 'r1', status: 'failed', message: 'out of memory' }),
      extensionMessage({ type: 'theme' }),
      extensionMessage(progressFromJobEvent({ type: 'progress', job: 'j1', done: 12, total: 35, unit: 'trials', message: 'rung 1' }, 's1')),
    ];
    for (const m of messages) {
      const checked = checkExtensionMessage(wire(m));
      assert.ok(checked.ok, `${m.type}: ${checked.ok ? '' : checked.error}`);
      assert.equal(m.protocolVersion, V);
    }
  });

  test('every panel message type validates', () => {
    const messages = [
      panelMessage({ type: 'ready', panel: 'loss-curves' }),
      panelMessage({ type: 'exportCsv', panel: 'leaderboard', csv: 'a,b\n1,2\n', suggestedName: 'x.csv' }),
      panelMessage({ type: 'exportPng', panel: 'heatmap', dataUrl: 'data:image/png;base64,iVBORw0KGgo=', suggestedName: 'x.png' }),
      panelMessage({ type: 'error', panel: 'heatmap', message: 'boom' }),
    ];
    for (const m of messages) assert.ok(isPanelMessage(wire(m)), m.type);
  });

  test('non-finite metrics become null and still validate (NaN guard steps survive JSON)', () => {
    const p = pointFromJobEvent({ ...step, totalLoss: Number.NaN, gradNorm: Number.POSITIVE_INFINITY });
    assert.equal(p.totalLoss, null);
    assert.ok(p.kind === 'step' && p.gradNorm === null);
    const h = heatmapFromJobEvent({
      ...heatmap,
      values: [
        [Number.NaN, 0, 0],
        [0, 0, 0],
      ],
    });
    assert.equal(h.values[0]?.[0], null);
    assert.ok(isExtensionMessage(wire(extensionMessage({ type: 'append', run: 'r', points: [p] }))));
    assert.ok(isExtensionMessage(wire(extensionMessage({ type: 'heatmap', heatmap: h }))));
    assert.ok(isExtensionMessage(wire(extensionMessage({ type: 'trials', trials: [trialFromJobEvent({ ...trial, finalTokenLoss: Number.NaN })] }))));
  });
});

describe('webview protocol: bad inputs are rejected with the offending field named', () => {
  const good = wire(extensionMessage({ type: 'append', run: 'r1', points: [pointFromJobEvent(step)] })) as Record<string, unknown>;
  const badHeatmap = (patch: Partial<HeatmapData>): unknown =>
    wire({ type: 'heatmap', protocolVersion: V, heatmap: { ...heatmapFromJobEvent(heatmap), ...patch } });
  const cases: Array<[string, unknown, RegExp]> = [
    ['undefined', undefined, /message: expected an object/],
    ['null', null, /message: expected an object/],
    ['a string', 'snapshot', /message: expected an object/],
    ['an array', [good], /message: expected an object/],
    ['no version', { ...good, protocolVersion: undefined }, /protocolVersion: expected 1, got undefined/],
    ['another version', { ...good, protocolVersion: 2 }, /protocolVersion: expected 1, got 2.*reload/],
    ['unknown type', { type: 'explode', protocolVersion: V }, /message.type: unknown message type "explode"/],
    ['missing type', { protocolVersion: V }, /message.type: unknown message type undefined/],
    ['points not an array', { ...good, points: {} }, /message.points: expected an array/],
    ['step as string', { ...good, points: [{ ...pointFromJobEvent(step), step: '3' }] }, /message.points\[0\].step: expected a finite number/],
    ['negative step', { ...good, points: [{ ...pointFromJobEvent(step), step: -1 }] }, /points\[0\].step: expected a step >= 0/],
    ['unknown point kind', { ...good, points: [{ ...pointFromJobEvent(step), kind: 'metric' }] }, /points\[0\].kind: expected one of 'step', 'eval'/],
    ['loss as string', { ...good, points: [{ ...pointFromJobEvent(step), totalLoss: '1.2' }] }, /points\[0\].totalLoss: expected a number or null/],
    [
      'eval without split',
      { ...good, points: [{ ...pointFromJobEvent(evalEvent), split: undefined }] },
      /points\[0\].split: expected one of 'heldout', 'train'/,
    ],
    ['run not a string', { ...good, run: 7 }, /message.run: expected a string/],
    [
      'snapshot run bad status',
      { type: 'snapshot', protocolVersion: V, runs: [{ run: 'r', status: 'paused', points: [] }] },
      /runs\[0\].status: expected one of 'running'/,
    ],
    ['snapshot trials not array', { type: 'snapshot', protocolVersion: V, runs: [], trials: 3 }, /message.trials: expected an array/],
    ['progress negative', { type: 'progress', protocolVersion: V, run: 'r', done: -1, total: 3, unit: 'steps' }, /message.done: expected done >= 0/],
    ['progress without unit', { type: 'progress', protocolVersion: V, run: 'r', done: 1, total: 3 }, /message.unit: expected a string/],
    ['runStatus bad status', { type: 'runStatus', protocolVersion: V, run: 'r', status: 'ok' }, /message.status: expected one of/],
    ['heatmap missing rows', badHeatmap({ rows: undefined as unknown as number[] }), /heatmap.rows: expected an array/],
    [
      'heatmap ragged row',
      badHeatmap({
        values: [
          [0, 0, 0],
          [0, 0],
        ],
      }),
      /heatmap.values\[1\]: has 2 values, expected 3/,
    ],
    ['heatmap row count', badHeatmap({ values: [[0, 0, 0]] }), /heatmap.values: has 1 rows, expected 2/],
    [
      'heatmap string cell',
      badHeatmap({
        values: [
          [0, 0, 0],
          [0, 'x' as unknown as number, 0],
        ],
      }),
      /heatmap.values\[1\]\[1\]: expected a finite number or null/,
    ],
    ['heatmap min >= max', badHeatmap({ min: 1, max: 1 }), /heatmap.min: expected min < max/],
    ['heatmap column label', badHeatmap({ columns: ['a', 2 as unknown as string, 'c'] }), /heatmap.columns\[1\]: expected a string/],
    [
      'trial blocks not strings',
      { type: 'trials', protocolVersion: V, trials: [{ ...trialFromJobEvent(trial), tokenBlocks: [1] }] },
      /trials\[0\].tokenBlocks\[0\]: expected a string/,
    ],
    [
      'trial sample missing',
      { type: 'trials', protocolVersion: V, trials: [{ ...trialFromJobEvent(trial), sample: undefined }] },
      /trials\[0\].sample: expected a string/,
    ],
  ];
  for (const [name, input, error] of cases) {
    test(`extension message: ${name}`, () => {
      const checked = checkExtensionMessage(input);
      assert.equal(checked.ok, false);
      assert.match(checked.ok ? '' : checked.error, error);
      assert.equal(isExtensionMessage(input), false);
    });
  }

  test('structured-clone transports: Infinity in a metric is rejected, not drawn', () => {
    const input = { ...good, points: [{ ...pointFromJobEvent(step), totalLoss: Number.POSITIVE_INFINITY }] };
    assert.match((checkExtensionMessage(input) as { error: string }).error, /totalLoss: expected a finite number or null/);
  });

  const panelCases: Array<[string, unknown, RegExp]> = [
    ['no panel', { type: 'ready', protocolVersion: V }, /message.panel: expected one of 'loss-curves', 'heatmap', 'leaderboard'/],
    ['unknown panel', { type: 'ready', protocolVersion: V, panel: 'chat' }, /message.panel/],
    ['unknown type', { type: 'openFile', protocolVersion: V, panel: 'heatmap' }, /unknown message type "openFile"/],
    ['csv not a string', { type: 'exportCsv', protocolVersion: V, panel: 'heatmap', csv: 5, suggestedName: 'a.csv' }, /message.csv: expected a string/],
    [
      'png not a data URL',
      { type: 'exportPng', protocolVersion: V, panel: 'heatmap', dataUrl: 'https://example.com/x.png', suggestedName: 'a.png' },
      /dataUrl: expected a 'data:image\/png;base64,' URL/,
    ],
    ['error without message', { type: 'error', protocolVersion: V, panel: 'heatmap' }, /message.message: expected a string/],
    ['wrong version', { type: 'ready', protocolVersion: 0, panel: 'heatmap' }, /protocolVersion: expected 1, got 0/],
  ];
  for (const [name, input, error] of panelCases) {
    test(`panel message: ${name}`, () => {
      const checked = checkPanelMessage(input);
      assert.equal(checked.ok, false);
      assert.match(checked.ok ? '' : checked.error, error);
      assert.equal(isPanelMessage(input), false);
    });
  }
});
