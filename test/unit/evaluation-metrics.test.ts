/**
 * Evaluation metrics with hand-computed numbers: confusion counts, precision/recall/F1 of the positive class
 * (0/0 defined as 0), accuracy and macro-F1 over the classes that occur; and the causal residual inputs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addCounts, binaryCounts, binaryMetrics, multiclassMetrics, ratio } from '../../src/actors/evaluation/metrics';
import { evaluationNotes, splitSentence } from '../../src/actors/evaluation/evaluate';
import { MIN_HISTORY, residuals } from '../../src/actors/trainer/residuals';

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected}, got ${actual}`);

const Binary = suite('binary metrics: positive class = label 1');

Binary('counts tp, fp, tn, fn', () => {
  // truth 1 1 0 0 1 0, predicted 1 0 1 0 1 0 → tp at 0 and 4, fn at 1, fp at 2, tn at 3 and 5
  assert.equal(binaryCounts([1, 1, 0, 0, 1, 0], [1, 0, 1, 0, 1, 0]), { tp: 2, fp: 1, tn: 2, fn: 1 });
});

Binary('precision 2/3, recall 2/3, F1 2/3', () => {
  const m = binaryMetrics({ tp: 2, fp: 1, tn: 2, fn: 1 });
  close(m.precision, 2 / 3, 'precision');
  close(m.recall, 2 / 3, 'recall');
  close(m.f1, 2 / 3, 'f1');
});

Binary('one hit and three false alarms: precision 0.25, recall 1, F1 2·0.25·1/1.25 = 0.4', () => {
  const m = binaryMetrics({ tp: 1, fp: 3, tn: 10, fn: 0 });
  close(m.precision, 0.25, 'precision');
  close(m.recall, 1, 'recall');
  close(m.f1, 0.4, 'f1');
});

Binary('0/0 is 0: a detector that never fires has precision 0 and F1 0', () => {
  assert.equal(binaryMetrics(binaryCounts([1, 0, 0], [0, 0, 0])), { precision: 0, recall: 0, f1: 0 });
});

Binary('0/0 is 0: a test set without a positive has recall 0', () => {
  assert.equal(binaryMetrics(binaryCounts([0, 0], [0, 1])), { precision: 0, recall: 0, f1: 0 });
  assert.equal(binaryMetrics(binaryCounts([], [])), { precision: 0, recall: 0, f1: 0 });
  assert.is(ratio(0, 0), 0);
  assert.is(ratio(3, 4), 0.75);
});

Binary('counts of two devices add up before the ratios are taken (pooled, not averaged)', () => {
  const a = binaryCounts([1, 1], [1, 1]); // P 1, R 1
  const b = binaryCounts([0, 0, 0, 1], [1, 1, 0, 0]); // P 0, R 0
  const pooled = binaryMetrics(addCounts(a, b)); // tp 2, fp 2, fn 1
  close(pooled.precision, 0.5, 'precision');
  close(pooled.recall, 2 / 3, 'recall');
  close(pooled.f1, (2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3), 'f1'); // = 4/7
  close(pooled.f1, 4 / 7, 'f1 as a fraction');
});

Binary('a length mismatch is a bug and throws', () => {
  assert.throws(() => binaryCounts([1, 0], [1]), /2 true labels but 1 predictions/);
  assert.throws(() => multiclassMetrics([1], []), /1 true labels but 0 predictions/);
});

Binary.run();

const Multi = suite('multi-class metrics: accuracy and macro-F1');

Multi('three classes: accuracy 4/6, macro-F1 (1/2 + 4/5 + 2/3) / 3', () => {
  // truth   0 0 1 1 2 2
  // pred    0 1 1 1 2 0
  // class 0: tp 1, predicted 2, true 2 → P 1/2, R 1/2, F1 1/2
  // class 1: tp 2, predicted 3, true 2 → P 2/3, R 1, F1 4/5
  // class 2: tp 1, predicted 1, true 2 → P 1, R 1/2, F1 2/3
  const m = multiclassMetrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]);
  close(m.accuracy, 4 / 6, 'accuracy');
  close(m.perClassF1[0]!, 1 / 2, 'F1 of class 0');
  close(m.perClassF1[1]!, 4 / 5, 'F1 of class 1');
  close(m.perClassF1[2]!, 2 / 3, 'F1 of class 2');
  close(m.macroF1, (1 / 2 + 4 / 5 + 2 / 3) / 3, 'macro-F1');
});

Multi('a class only predicted counts (F1 0); a class in neither truth nor predictions does not', () => {
  // class 0: tp 1, predicted 1, true 2 → F1 2/3; class 3: predicted once, never true → F1 0; classes 1, 2, 4…: absent
  const m = multiclassMetrics([0, 0], [0, 3]);
  assert.equal(Object.keys(m.perClassF1), ['0', '3']);
  close(m.macroF1, (2 / 3 + 0) / 2, 'macro-F1');
  close(m.accuracy, 0.5, 'accuracy');
});

Multi('no rows: accuracy 0 and macro-F1 0 (0/0 = 0)', () => {
  assert.equal(multiclassMetrics([], []), { accuracy: 0, macroF1: 0, perClassF1: {} });
});

Multi.run();

const Inputs = suite('evaluate: residual inputs and the split sentence');

Inputs(`a residual is the reading minus the median of the previous readings, 0 before ${MIN_HISTORY} of them`, () => {
  // readings 0, 1, …, 29, then 100, then 0; window 30
  const stream = [...Array.from({ length: 30 }, (_, i) => ({ h: i })), { h: 100 }, { h: 0 }];
  const r = residuals(stream, ['h'], 30);
  assert.ok(r.slice(0, 30).every((x) => x['h'] === 0), 'warm-up residuals are 0');
  assert.is(r[30]!['h'], 100 - 14.5); // median of 0…29 = (14 + 15) / 2
  assert.is(r[31]!['h'], 0 - 15.5); // window 1…29, 100: median (15 + 16) / 2
});

Inputs(`a window shorter than ${MIN_HISTORY} (RESIDUAL_WINDOW=5) warms up over the window, not ${MIN_HISTORY} readings`, () => {
  // the warm-up once waited for 30 earlier readings in a median of 5: every residual was 0 and the model flagged nothing
  const stream = [1, 2, 3, 4, 5, 50, 6].map((h) => ({ h }));
  const r = residuals(stream, ['h'], 5).map((x) => x['h']);
  assert.equal(r, [0, 0, 0, 0, 0, 50 - 3, 6 - 4]); // medians of 1…5 and of 2…5, 50
});

Inputs('a missing feature counts as 0', () => {
  const stream = [...Array.from({ length: 30 }, () => ({ h: 2 })), {}];
  assert.is(residuals(stream, ['h'], 30)[30]!['h'], -2);
});

Inputs('the split is stated in a sentence', () => {
  assert.is(splitSentence(0.7), 'time-ordered split per device: first 70% train, last 30% test');
  assert.is(splitSentence(0.45), 'time-ordered split per device: first 45% train, last 55% test');
});

Inputs.run();

const Notes = suite('evaluate: notes where the table misleads by itself');
const client = (id: string, trainPositives: number, testPositives: number) => ({ client: id, trainRows: 100, testRows: 100, trainPositives, testPositives });

Notes('none for several clients with positives to find', () => {
  assert.equal(evaluationNotes([client('a', 0, 3), client('b', 2, 0)], 'binary', 'autoencoder'), []);
});

Notes('test rows without positives: recall and F1 have nothing to find', () => {
  const notes = evaluationNotes([client('a', 5, 0), client('b', 1, 0)], 'binary', 'autoencoder');
  assert.is(notes.length, 1);
  assert.match(notes[0]!, /^the test rows hold no anomalies: recall and F1 have nothing to find/);
  assert.match(evaluationNotes([client('a', 5, 0), client('b', 1, 0)], 'multiclass', 'classifier')[0]!, /^the test rows hold no attacks/);
});

Notes('a classifier whose training rows hold no positives; one client', () => {
  assert.equal(evaluationNotes([client('a', 0, 4), client('b', 0, 1)], 'binary', 'autoencoder'), [], 'an autoencoder needs no positives to train');
  assert.match(evaluationNotes([client('a', 0, 4), client('b', 0, 1)], 'binary', 'classifier')[0]!, /^the training rows hold no anomalies: the classifiers never see one/);
  assert.equal(evaluationNotes([client('solo', 1, 1)], 'binary', 'autoencoder'), ["one client (solo): the federated model is that client's model, with nothing to average"]);
});

Notes.run();
