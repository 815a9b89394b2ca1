"""Ship a pre-trained model as facetwin's base model (src/facetwin/models/weights/).

Writes base.safetensors (the weights as float16: half the size, and a start for
fine-tuning needs no more precision) and base.json (architecture, face type, sha256 of
the file, and the training record: steps, seconds, settings, loss, the people it saw).

Run: python tools/ship_base.py MODEL_DIR [--people people.json]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from safetensors.torch import save_file

from facetwin.models.base import BASE_DIR, sha256_of
from facetwin.models.checkpoint import read_config, read_state, read_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--people", type=Path, help="people.json of the run (default: MODEL_DIR/people.json)")
    args = parser.parse_args()
    config, state = read_config(args.model_dir), read_state(args.model_dir)
    weights = {name: t.half().contiguous() for name, t in read_weights(args.model_dir).items()}
    BASE_DIR.mkdir(parents=True, exist_ok=True)
    path = BASE_DIR / "base.safetensors"
    save_file(weights, str(path), metadata={"format": "facetwin/base-model", "step": str(state["step"])})
    people = json.loads((args.people or args.model_dir / "people.json").read_text())
    used = [p for p in people["people"] if p["faces"]]
    with open(args.model_dir / "history.csv") as f:
        last = list(csv.DictReader(f))[-1]
    train = config["train"]
    info = {
        "format": "facetwin/base-info",
        "model": train["model"],
        "face": train["face"],
        "mask": config["predicts_mask"],
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "summary": f"{train['model']} {train['face']}-face, {state['step']} steps on "
        f"{sum(p['faces'] for p in used)} faces of {len(used)} people",
        "training": {
            "steps": state["step"],
            "seconds": round(float(state.get("seconds", 0.0))),
            "last_loss": {"l1_a": float(last["loss_a"]), "l1_b": float(last["loss_b"])},
            "settings": train,
            "per_person": people.get("per_person"),
            "people": [{"folder": Path(p["folder"]).name, "faces": p["faces"]} for p in people["people"]],
        },
        "config": {k: config[k] for k in ("model", "input_size", "predicts_mask", "face")},
    }
    path.chmod(0o644)
    (BASE_DIR / "base.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{path}: {info['bytes'] / 1e6:.1f} MB, sha256 {info['sha256'][:16]}…; {info['summary']}")


if __name__ == "__main__":
    main()
