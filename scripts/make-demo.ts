#!/usr/bin/env -S node --conditions=source --import tsx
// Rebuilds the bundled demo release: a tiny LLaMA-architecture model made with real PyTorch, packed
// against a tiny LLaMA-1-style base. Writes manifests/demo/base, manifests/demo/release and manifests/demo.json; the
// plain fine-tuned folder goes to a scratch folder and is not committed (it is what users recover).
// Needs Debian's python3-torch: apt-get install python3-torch.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $, cd } from "zx";

const root = new URL("..", import.meta.url).pathname;
cd(root);
const scratch = await mkdtemp(join(tmpdir(), "model-recover-demo-"));
try {
  await rm("manifests/demo/base", { recursive: true, force: true });
  await rm("manifests/demo/release", { recursive: true, force: true });
  await $`/usr/bin/python3 scripts/make-demo-model.py --base-out manifests/demo/base --model-out ${scratch}/model`;
  await $`node --conditions=source --import tsx packages/cli/src/main.ts pack --model ${scratch}/model --base manifests/demo/base/consolidated.00.pth --out manifests/demo/release --name demo --clear README.md --recipe manifests/demo.json --title ${"model-recover demo (tiny LLaMA)"} --base-title ${"demo base: tiny LLaMA-1 consolidated.00.pth (demo/base)"} --prompt ${"Human: {input} \n\nAssistant:"}`;
  const recipe = JSON.parse(await readFile("manifests/demo.json", "utf8"));
  const withBundle = {
    $schema: "./recipe.schema.json",
    ...recipe,
    load: [
      "from transformers import LlamaForCausalLM",
      'model = LlamaForCausalLM.from_pretrained("{out}")  # tokenizer.model is a stand-in: the demo has no real tokenizer',
    ],
    bundled: { enc: "demo/release", base: "demo/base/consolidated.00.pth" },
  };
  await writeFile("manifests/demo.json", `${JSON.stringify(withBundle, null, 2)}\n`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
