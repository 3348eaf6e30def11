# Installs the machine packages the demo and the tests need when they are missing (Debian:
# slapd, ldap-utils, qpdf, poppler-utils) and checks for moto_server. Sourced by .ci/run and
# scripts/demo.sh; needs root (or sudo-less apt) only when something is missing.
_need_apt=()
[ -x /usr/sbin/slapd ] || _need_apt+=(slapd)
command -v ldapadd >/dev/null || _need_apt+=(ldap-utils)
command -v qpdf >/dev/null || _need_apt+=(qpdf)
command -v pdftotext >/dev/null || _need_apt+=(poppler-utils)
command -v openssl >/dev/null || _need_apt+=(openssl)
command -v script >/dev/null || _need_apt+=(bsdutils)
if [ ${#_need_apt[@]} -gt 0 ]; then
  echo "deps: installing ${_need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${_need_apt[@]}" >/dev/null
fi
command -v moto_server >/dev/null || { echo "deps: moto_server is not on PATH (the machine image provides moto 5.2)" >&2; return 1; }
