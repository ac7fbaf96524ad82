/**
 * The CLIP model check a build makes before any work: the worker that will score loads its model
 * (and keeps it), so missing or malformed model files fail the build at once, naming the file
 * and the command that fetches the model.
 */
import { ApplicationFailure } from '@temporalio/activity';

import type { ClipModelCheck, ClipModelCheckInput } from '../contracts';
import { ClipModelInvalidError, ClipModelMissingError, type ClipScorer } from './scorer';
import { ClipVocabularyError } from './tokenizer';

/** Runs `load`, turning a missing or malformed model into a non-retryable `ClipModelMissing` failure. */
export async function loadOrFail(buildId: string, load: () => Promise<ClipScorer>): Promise<ClipScorer> {
  try {
    return await load();
  } catch (err) {
    if (
      err instanceof ClipModelMissingError ||
      err instanceof ClipModelInvalidError ||
      err instanceof ClipVocabularyError
    ) {
      throw ApplicationFailure.nonRetryable(`build ${buildId}: ${err.message}`, 'ClipModelMissing');
    }
    throw err;
  }
}

export function createCheckClipModel(scorer: () => Promise<ClipScorer>) {
  return async function checkClipModel({ buildId }: ClipModelCheckInput): Promise<ClipModelCheck> {
    const clip = await loadOrFail(buildId, scorer);
    return { modelId: clip.modelId, standIn: clip.standIn, modelDir: clip.modelDir };
  };
}
