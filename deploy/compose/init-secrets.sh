#!/bin/sh
# Writes what `docker compose up` needs and git must never see (both ignored):
#   .env                          database passwords (compose ${...} interpolation)
#   deploy/compose/secrets/*      DJANGO_SECRET_KEY, Molam ID's public key, event-bus token,
#                                 PLAN_DATA_KEYS (a Fernet key for plan_data),
#                                 APPROVAL_SIGNING_KEY (key_id:secret, binds approvals),
#                                 AUDIT_SIGNING_KEY (Ed25519 PEM, signs audit checkpoints)
# Existing files are kept. The public key is Molam ID's; to try the stack with
# development tokens (`DEBUG=1 python manage.py mint_token ...`), pass the dev
# private key and its public half is written:  sh deploy/compose/init-secrets.sh var/dev-jwt/private.pem
set -eu
cd "$(dirname "$0")/../.."
dir=deploy/compose/secrets
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(36))'; }

if [ ! -f .env ]; then
  umask 077
  {
    echo "POSTGRES_PASSWORD=$(rand)"
    echo "MOLAM_OWNER_DB_PASSWORD=$(rand)"
    echo "MOLAM_APP_DB_PASSWORD=$(rand)"
  } > .env
  echo "wrote .env"
fi
# Compose bind-mounts file secrets: the service user (uid 10001) must read them.
umask 022
[ -f "$dir/django_secret_key" ] || { rand > "$dir/django_secret_key"; echo "wrote $dir/django_secret_key"; }
[ -f "$dir/event_bus_token" ] || { rand > "$dir/event_bus_token"; echo "wrote $dir/event_bus_token"; }
[ -f "$dir/approval_signing_key" ] || { echo "k1:$(rand)" > "$dir/approval_signing_key"; echo "wrote $dir/approval_signing_key"; }
[ -f "$dir/audit_signing_key.pem" ] || {
  openssl genpkey -algorithm ed25519 -out "$dir/audit_signing_key.pem"
  echo "wrote $dir/audit_signing_key.pem"
}
[ -f "$dir/plan_data_keys" ] || {
  python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' > "$dir/plan_data_keys"
  echo "wrote $dir/plan_data_keys"
}
if [ ! -f "$dir/molam_id_jwt_public.pem" ]; then
  if [ $# -ge 1 ]; then
    openssl pkey -in "$1" -pubout -out "$dir/molam_id_jwt_public.pem"
    echo "wrote $dir/molam_id_jwt_public.pem (public half of $1)"
  else
    echo "missing $dir/molam_id_jwt_public.pem: put Molam ID's RS256 public key (PEM) there" >&2
    exit 1
  fi
fi
