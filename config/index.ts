export * from './assets';
export * from './build-input';
export * from './env';
