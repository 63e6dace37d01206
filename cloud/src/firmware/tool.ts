import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ValidationError } from '@bitv/shared/errors';
import {
  artifactKeys,
  type FirmwareTarget,
  firmwareTargets,
  generateReleaseKey,
  signImage,
  TrustedKeys,
  verifyImage,
} from '@bitv/shared/firmware';
import {
  copyObjects,
  type ObjectStore,
  objectStoreConfigFromEnv,
  openObjectStore,
} from '@bitv/shared/object-store';

export const firmwareUsage = `bitv-firmware: release keys, signed firmware manifests, and the artifact store

Usage: npm run firmware -w cloud -- <command> [options]

Commands:
  keygen --out DIR                       make an Ed25519 release key pair: DIR/release.key (private,
                                         mode 0600: keep it off every gateway) and DIR/release.pub
  sign --key FILE --target T --version V --image FILE [--out FILE]
                                         write the signed manifest (default: IMAGE.manifest.json)
  verify --pub FILE[,FILE] --target T --manifest FILE --image FILE
                                         check signature, size and SHA-256 as an agent does
  publish --image FILE --manifest FILE   put both into the object store as
                                         <target>/<version>/image.bin and manifest.json
  list [--prefix P]                      list the object store
  copy --to-dir DIR | --to-s3 [--prefix P]
                                         copy artifacts from the configured store to a folder, or
                                         from the folder BV_OBJECT_STORE_DIR to the S3 store

Targets: ${firmwareTargets.join(', ')}. The object store is the folder BV_OBJECT_STORE_DIR (default
./objects) unless BV_S3_ENDPOINT is set (see docs/ota.md for every variable).
Progress goes to stderr, results to stdout. Exit status 2 for bad arguments, 1 for a refused image.
`;

export interface ToolIo {
  out: (line: string) => void;
  progress: (line: string) => void;
  env: Record<string, string | undefined>;
}

function target(value: string | undefined): FirmwareTarget {
  if (!firmwareTargets.includes(value as FirmwareTarget))
    throw new ValidationError(`--target must be one of ${firmwareTargets.join(', ')}`);
  return value as FirmwareTarget;
}

function required(values: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => typeof values[n] !== 'string');
  if (missing.length > 0)
    throw new ValidationError(`missing ${missing.map((n) => `--${n}`).join(', ')} (see --help)`);
}

const options = {
  out: { type: 'string' },
  key: { type: 'string' },
  pub: { type: 'string' },
  target: { type: 'string' },
  version: { type: 'string' },
  image: { type: 'string' },
  manifest: { type: 'string' },
  prefix: { type: 'string' },
  'to-dir': { type: 'string' },
  'to-s3': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs one command; returns the exit status. Errors (bad arguments, refused images) are thrown. */
export async function runFirmwareTool(argv: string[], io: ToolIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const command = positionals[0];
  if (values.help || !command) {
    io.out(firmwareUsage);
    return command || values.help ? 0 : 2;
  }
  const store = (): ObjectStore => openObjectStore(objectStoreConfigFromEnv(io.env, './objects'));
  switch (command) {
    case 'keygen': {
      required(values, 'out');
      const pair = generateReleaseKey();
      await mkdir(values.out!, { recursive: true });
      const priv = join(values.out!, 'release.key');
      await writeFile(priv, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
      await chmod(priv, 0o600);
      await writeFile(join(values.out!, 'release.pub'), pair.publicKeyPem, { flag: 'wx' });
      io.progress(`wrote ${priv} (private, 0600) and release.pub`);
      io.out(`keyId ${pair.keyId}`);
      return 0;
    }
    case 'sign': {
      required(values, 'key', 'target', 'version', 'image');
      io.progress(`reading ${values.image}`);
      const image = await readFile(values.image!);
      io.progress(`hashing and signing ${image.length} bytes`);
      const manifest = signImage(image, {
        privateKeyPem: await readFile(values.key!, 'utf8'),
        target: target(values.target),
        version: values.version!,
      });
      const out = values.out ?? `${values.image}.manifest.json`;
      await writeFile(out, `${JSON.stringify(manifest, null, 2)}\n`);
      io.progress(`wrote ${out}`);
      io.out(`signed ${manifest.target} ${manifest.version} sha256 ${manifest.sha256} key ${manifest.keyId}`);
      return 0;
    }
    case 'verify': {
      required(values, 'pub', 'target', 'manifest', 'image');
      const pems = await Promise.all(values.pub!.split(',').map((f) => readFile(f, 'utf8')));
      const manifest = new TrustedKeys(pems).verifyManifest(
        await readFile(values.manifest!, 'utf8'),
        target(values.target),
      );
      io.progress('signature ok');
      verifyImage(manifest, await readFile(values.image!));
      io.out(`ok ${manifest.target} ${manifest.version} (${manifest.size} bytes, key ${manifest.keyId})`);
      return 0;
    }
    case 'publish': {
      required(values, 'image', 'manifest');
      const manifestText = await readFile(values.manifest!, 'utf8');
      const manifest = JSON.parse(manifestText) as { target: FirmwareTarget; version: string };
      const keys = artifactKeys(target(manifest.target), manifest.version);
      const s = store();
      try {
        io.progress(`uploading ${keys.image} to the ${s.kind} store`);
        await s.put(keys.image, await readFile(values.image!));
        // The manifest goes last: a reader that finds it finds the image too.
        await s.put(keys.manifest, Buffer.from(manifestText), { contentType: 'application/json' });
        io.out(`published ${keys.manifest}`);
      } finally {
        await s.close();
      }
      return 0;
    }
    case 'list': {
      const s = store();
      for (const o of await s.list(values.prefix ?? ''))
        io.out(`${o.key}\t${o.size}\t${o.modifiedAt.toISOString()}`);
      return 0;
    }
    case 'copy': {
      const env = io.env;
      let from: ObjectStore;
      let to: ObjectStore;
      if (values['to-dir']) {
        from = store();
        to = openObjectStore({ kind: 'folder', dir: values['to-dir'] });
      } else if (values['to-s3']) {
        const s3 = objectStoreConfigFromEnv(env, './objects');
        if (s3.kind !== 's3') throw new ValidationError('--to-s3 needs BV_S3_ENDPOINT and its credentials');
        from = openObjectStore({ kind: 'folder', dir: env.BV_OBJECT_STORE_DIR ?? './objects' });
        to = openObjectStore(s3);
      } else throw new ValidationError('copy needs --to-dir DIR or --to-s3');
      const result = await copyObjects(from, to, {
        prefix: values.prefix ?? '',
        onProgress: (p) =>
          io.progress(
            `[${p.index + 1}/${p.total}] ${p.skipped ? 'already there' : 'copied'} ${p.key} (${p.size} bytes)`,
          ),
      });
      io.out(`copied ${result.copied} (${result.bytes} bytes), ${result.skipped} already there`);
      return 0;
    }
    default:
      throw new ValidationError(`unknown command ${command} (see --help)`);
  }
}
