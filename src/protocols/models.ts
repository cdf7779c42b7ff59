/** `local-model-updates` and `global-model-updates`. */
import * as t from 'io-ts';
import { decodedAsIs, EpochMillis, FiniteNumber, NonEmptyString, NonNegativeInt, PositiveInt, Sha256Hex } from './codec';
import { EncodedWeights } from './weights';

/** A trainer's update for one round, trained from global version `baseVersion`. */
export const LocalModelUpdate = decodedAsIs(t.type(
  {
    updateId: NonEmptyString,
    clientId: NonEmptyString,
    round: NonNegativeInt,
    baseVersion: NonNegativeInt,
    sampleCount: PositiveInt,
    weights: EncodedWeights,
    metrics: t.record(t.string, FiniteNumber),
    sentAt: EpochMillis,
  },
  'LocalModelUpdate',
));
export type LocalModelUpdate = t.TypeOf<typeof LocalModelUpdate>;

export const StrategyConfig = t.type({ name: t.keyof({ fedavg: null, median: null, 'trimmed-mean': null }), trimRatio: t.union([t.number, t.null]) }, 'StrategyConfig');
export type StrategyConfig = t.TypeOf<typeof StrategyConfig>;

/** Provenance of a global model version. */
export const Lineage = t.type(
  {
    parentVersion: t.union([NonNegativeInt, t.null]),
    round: NonNegativeInt,
    strategy: StrategyConfig,
    updates: t.array(t.type({ clientId: NonEmptyString, updateId: NonEmptyString, hash: Sha256Hex, sampleCount: PositiveInt })),
  },
  'Lineage',
);
export type Lineage = t.TypeOf<typeof Lineage>;

/** A published global model; version 0 is the initial model. */
export const GlobalModel = t.type(
  {
    kind: t.literal('global-model'),
    version: NonNegativeInt,
    hash: Sha256Hex,
    weights: EncodedWeights,
    lineage: Lineage,
    createdAt: EpochMillis,
  },
  'GlobalModel',
);
export type GlobalModel = t.TypeOf<typeof GlobalModel>;

/**
 * Announces an open round with its base model, so a trainer that joins at any time has everything it needs
 * to take part: the round number to put in its update and the weights to train from.
 */
export const RoundNotice = t.type(
  {
    kind: t.literal('round-opened'),
    round: PositiveInt,
    baseVersion: NonNegativeInt,
    deadline: EpochMillis,
    openedAt: EpochMillis,
    model: GlobalModel,
  },
  'RoundNotice',
);
export type RoundNotice = t.TypeOf<typeof RoundNotice>;

/** Everything on `global-model-updates`; decoded as is (see decodedAsIs), like LocalModelUpdate: the sink decodes both topics. */
export const GlobalTopicMessage = decodedAsIs(t.union([GlobalModel, RoundNotice], 'GlobalTopicMessage'));
export type GlobalTopicMessage = t.TypeOf<typeof GlobalTopicMessage>;
