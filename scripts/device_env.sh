# Source this on a GPU machine where the project is not pip-installed (e.g. the lent H100):
#   source scripts/device_env.sh
# It unpacks the carried .gpu-site bundle (tilelang, tile-kernels; made by ../shared/device/gpu-site.sh)
# if present, and makes mhc_reference / mhc_kernels / mhc_verify importable from this tree.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -f "$here/.gpu-site/site.tar.xz" ] && [ ! -d /tmp/site ]; then
  tar -xJf "$here/.gpu-site/site.tar.xz" -C /tmp
fi
mkdir -p /tmp/mhc_pkgs
ln -sfn "$here/reference" /tmp/mhc_pkgs/mhc_reference
ln -sfn "$here/kernels" /tmp/mhc_pkgs/mhc_kernels
ln -sfn "$here/mhc_verify" /tmp/mhc_pkgs/mhc_verify
export PYTHONPATH=/tmp/mhc_pkgs${PYTHONPATH:+:$PYTHONPATH}
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site:$PYTHONPATH
export PYTHONUNBUFFERED=1
