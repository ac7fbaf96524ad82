/**
 * The OULU-NPU adapter: videos `<phone>_<session>_<user>_<access>.avi` anywhere under the root
 * (the release's Train_files/, Dev_files/, Test_files/), sampled to frames at ingest. The native
 * code is the access type (1 real, 2–3 print, 4–5 replay); the subject is the user. Protocols
 * (`split: "protocol"`): `users` (users 1–20 train, 21–35 dev, 36–55 test), or a list folder
 * under `Protocols/`, e.g. `Protocol_1` or `Protocol_3/1` for `Protocol_3/Train_1.txt`.
 */
import {
  isDir,
  fileEntry,
  SourceLayoutError,
  walkFiles,
  type ResolvedSource,
  type SourceEntry,
  type Split,
} from './source-entry';
import { readProtocolLists } from './protocol-lists';

const NAME = /^(\d+)_(\d+)_(\d+)_(\d+)\.(avi|mp4|mov)$/i;

export async function listOuluNpu(source: ResolvedSource): Promise<SourceEntry[]> {
  const { root } = source;
  if (!(await isDir(root))) throw new SourceLayoutError(`OULU-NPU root ${root} is not a folder`);
  const files = (await walkFiles(root, root)).filter((f) => /\.(avi|mp4|mov)$/i.test(f.rel));
  if (files.length === 0) throw new SourceLayoutError(`OULU-NPU root ${root} holds no .avi videos`);
  const lists =
    source.split === 'protocol' && source.protocol !== 'users'
      ? await readProtocolLists(root, 'Protocols', source.protocol, 'OULU-NPU', ['users'])
      : undefined;
  return files.map((f) => {
    const name = f.rel.split('/').pop()!;
    const m = NAME.exec(name);
    if (!m) {
      const excluded = f.refused ?? {
        reason: 'unrecognised_file_name',
        detail: `${f.rel} is not named <phone>_<session>_<user>_<access>.avi`,
      };
      return fileEntry(f, { nativeCode: 'unknown', subject: null, excluded });
    }
    const [, phone, session, user, access] = m as unknown as string[];
    const stem = name.replace(/\.[^.]+$/, '');
    return fileEntry(f, {
      nativeCode: String(Number(access)),
      subject: user!,
      metadata: { phone, session, user, access },
      protocolSplit: lists ? lists.get(stem) : byUser(Number(user)),
    });
  });
}

function byUser(user: number): Split | undefined {
  return user >= 1 && user <= 20 ? 'train' : user <= 35 ? 'val' : user <= 55 ? 'test' : undefined;
}
