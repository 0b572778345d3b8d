#!/usr/bin/env bash
# The GPU figures in docs/measurements.md: benchmarks/throughput.py and benchmarks/vs_scvi.py on CUDA, and the
# trainer's and model's tests on a machine where device="auto" picks the GPU.  From the repo root,
# in an environment with a CUDA torch, cellvae's dependencies and the [bench] extra:
#     bash benchmarks/on_gpu.sh 2>&1 | tee gpu.log
# Each step runs even if one before it failed; the exit status is the number of failed steps.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
failed=0
step() { echo "::: $*"; local t=$SECONDS; "$@" || { echo "::: FAILED ($?): $*"; failed=$((failed + 1)); }
         echo "::: $((SECONDS - t)) s"; }
step nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
step python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(), \
'| CPU threads', torch.get_num_threads())"
step timeout 150 python3 -m pytest -q -p no:cacheprovider -rs tests/model
for b in 128 512; do step timeout 150 python3 benchmarks/vs_scvi.py --device cuda --batch "$b"; done
for b in 128 512; do
  step timeout 90 python3 benchmarks/throughput.py --device cuda --hidden 256 --latent 10 --batch "$b" \
    --cells 16384 --epochs 4
done
step timeout 90 python3 benchmarks/throughput.py --device cuda --hidden 512 --latent 50 --batch 512 \
  --cells 16384 --epochs 4
exit "$failed"
