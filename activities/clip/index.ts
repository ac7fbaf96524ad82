/**
 * CLIP image–description scoring for fasforge's filtering stage: a byte-level BPE tokenizer,
 * CLIP image preprocessing, ONNX session loading with CUDA→CPU fallback, and a batched scorer.
 */
export {
  CLIP_DOWNLOAD_COMMAND,
  CLIP_MANIFEST_FILE,
  ClipModelInvalidError,
  ClipModelMissingError,
  DEFAULT_CLIP_BATCH_SIZE,
  clipManifestSchema,
  loadClipModel,
  type ClipManifest,
  type ClipScore,
  type ClipScoreItem,
  type ClipScoredBatch,
  type ClipScorer,
  type LoadClipModelOptions,
} from './scorer';
export { CorruptImageError, preprocessImage, resizedDimensions, toNormalisedChw } from './preprocess';
export {
  cudaUnavailableReason,
  loadSession,
  type ClipProvider,
  type LoadSessionOptions,
  type LoadedSession,
} from './session';
export {
  CLIP_MERGE_COUNT,
  ClipTokenizer,
  ClipVocabularyError,
  DEFAULT_CONTEXT_LENGTH,
  END_OF_TEXT,
  START_OF_TEXT,
  bytesToUnicode,
  type ClipTokenizerOptions,
} from './tokenizer';
export { cleanText, fixText, unescapeHtml } from './text-clean';
export type { ClipLogger } from './types';
