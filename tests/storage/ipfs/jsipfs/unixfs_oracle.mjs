// A second CID oracle: js-ipfs's own UnixFS importer (ipfs-unixfs-importer, the package inside
// the js-ipfs install) run with the exact options of a CID profile, including the links per
// node (`maxChildrenPerNode`), which js-ipfs's HTTP `add` does not expose.
//
// Usage: node unixfs_oracle.mjs <node_modules dir>
// stdin: one JSON job per line {"path", "chunkSize", "maxLinks", "cidVersion", "rawLeaves"}
// stdout: one JSON line per job {"cid", "importer"} (or {"error"}), in order.
import { createReadStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'

const modules = process.argv[2]
const pkgDir = join(modules, 'ipfs-unixfs-importer')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const { importer } = await import(pathToFileURL(join(pkgDir, pkg.exports['.'].import)).href)

// onlyHash: blocks are hashed, never stored (what `ipfs add --only-hash` does).
const discard = { put: async (cid) => cid }

async function cidOf (job) {
  let root
  const source = [{ content: createReadStream(job.path, { highWaterMark: 1 << 20 }) }]
  for await (const entry of importer(source, discard, {
    onlyHash: true,
    chunker: 'fixed',
    maxChunkSize: job.chunkSize,
    maxChildrenPerNode: job.maxLinks,
    strategy: 'balanced',
    cidVersion: job.cidVersion,
    rawLeaves: job.rawLeaves,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false
  })) {
    root = entry
  }
  return root.cid.toString()
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue
  try {
    const cid = await cidOf(JSON.parse(line))
    process.stdout.write(JSON.stringify({ cid, importer: pkg.version }) + '\n')
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }) + '\n')
  }
}
