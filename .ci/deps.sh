# Installs the machine packages the demo and the tests need when they are missing (Debian:
# slapd, ldap-utils, qpdf, poppler-utils, and Samba's AD DC with the Kerberos client for the Active
# Directory tests) and checks for moto_server. Sourced by .ci/run and
# scripts/demo.sh; needs root (or sudo-less apt) only when something is missing.
_need_apt=()
[ -x /usr/sbin/slapd ] || _need_apt+=(slapd)
command -v ldapadd >/dev/null || _need_apt+=(ldap-utils)
command -v qpdf >/dev/null || _need_apt+=(qpdf)
command -v pdftotext >/dev/null || _need_apt+=(poppler-utils)
command -v openssl >/dev/null || _need_apt+=(openssl)
command -v script >/dev/null || _need_apt+=(bsdutils)
{ [ -x /usr/sbin/samba ] && command -v samba-tool >/dev/null; } || _need_apt+=(samba samba-ad-dc winbind)
command -v kinit >/dev/null || _need_apt+=(krb5-user)
command -v ldbsearch >/dev/null || _need_apt+=(ldb-tools)
if [ ${#_need_apt[@]} -gt 0 ]; then
  echo "deps: installing ${_need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # krb5-user asks for a default realm; the tests bring their own krb5.conf, so none is set here.
  echo "krb5-config krb5-config/default_realm string" | debconf-set-selections 2>/dev/null || true
  # The tests start their own slapd and Samba on loopback; the packages' system services must not
  # start (smbd, nmbd, winbind, slapd). Only when the machine has no policy of its own.
  _policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && _policy_added=1
  fi
  _rc=0
  { apt-get update -qq && apt-get install -y -qq "${_need_apt[@]}" >/dev/null; } || _rc=$?
  if [ -n "$_policy_added" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ $_rc -ne 0 ]; then echo "deps: apt-get failed ($_rc)" >&2; return 1; fi
fi
command -v moto_server >/dev/null || { echo "deps: moto_server is not on PATH (the machine image provides moto 5.2)" >&2; return 1; }
