// The shell scripts baked into each add-on image. Fixed text: what varies (the uid, the role and
// database names) reaches them as positional arguments, and the password only on stdin, so it is
// in no argv, no Cmd and no Env that `docker inspect` or /proc could show.
import type { AddonService } from '../types.js';

/** Where the add-on's volume is mounted in its containers. */
export const DATA = '/data';
/** Where the scripts are in the image. */
export const SCRIPTS = '/usr/local/lib/paas-addon';

// nss_wrapper gives the add-on's uid a passwd entry (`postgres`) from a file in the volume: initdb
// and peer authentication look the uid up, and the image cannot know which uid it will run as.
export const PG_ENV = [`LD_PRELOAD=libnss_wrapper.so`, `NSS_WRAPPER_PASSWD=${DATA}/passwd`, `NSS_WRAPPER_GROUP=${DATA}/group`, `PGDATA=${DATA}/pgdata`, 'PGHOST=/tmp'];

// Run as root in the one-off init container, which has only the capabilities these need (CHOWN,
// SETUID, SETGID): the new volume becomes the add-on's, then the rest runs as its uid.
const INIT = `#!/bin/sh
set -eu
uid=$1
shift
chmod 0700 ${DATA}
chown "$uid:$uid" ${DATA}
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups ${SCRIPTS}/setup "$@"
`;

// PostgreSQL, as the add-on's uid. initdb skips its per-file fsyncs (the slowest part of it) and
// one syncfs of the volume's filesystem makes it durable instead. The role and database are made
// in single-user mode, before the server listens at all.
const PG_SETUP = `#!/bin/sh
set -eu
umask 077
IFS= read -r password
user=$1 db=$2
printf 'postgres:x:%s:%s:PostgreSQL:${DATA}:/bin/false\\n' "$(id -u)" "$(id -g)" > ${DATA}/passwd
printf 'postgres:x:%s:\\n' "$(id -g)" > ${DATA}/group
${PG_ENV.map((e) => `export ${e}`).join('\n')}
initdb -U postgres -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions >/dev/null
cat >> "$PGDATA/postgresql.conf" <<'CONF'
# paas: a small host's settings
listen_addresses = '*'
port = 5432
unix_socket_directories = '/tmp'
max_connections = 20
shared_buffers = 16MB
work_mem = 2MB
maintenance_work_mem = 16MB
effective_cache_size = 64MB
max_wal_size = 256MB
min_wal_size = 32MB
max_worker_processes = 4
max_parallel_workers = 2
password_encryption = scram-sha-256
huge_pages = off
CONF
cat > "$PGDATA/pg_hba.conf" <<'HBA'
# The superuser only over the container's own socket (paas's backups); apps with their password.
local all postgres peer
host all all all scram-sha-256
HBA
# printf is the shell's builtin: the password is in no process's argv.
printf 'CREATE ROLE "%s" LOGIN PASSWORD '"'"'%s'"'"'\\nCREATE DATABASE "%s" OWNER "%s"\\n' "$user" "$password" "$db" "$user" | postgres --single -D "$PGDATA" postgres >/dev/null
sync -f "$PGDATA"
postgres --version
`;

// Redis, as the add-on's uid: its configuration, password included, in a 0600 file in the volume.
// shutdown-on-sigterm save makes Docker's stop (SIGTERM) a SHUTDOWN SAVE.
const REDIS_SETUP = `#!/bin/sh
set -eu
umask 077
IFS= read -r password
mkdir -p ${DATA}/redis
cat > ${DATA}/redis.conf <<CONF
bind * -::*
port 6379
daemonize no
dir ${DATA}/redis
logfile ""
requirepass $password
appendonly yes
appendfsync everysec
shutdown-on-sigterm save
CONF
sync -f ${DATA}/redis.conf
redis-server --version
`;

/** The files the image of `service` gets in SCRIPTS. */
export function scriptsFor(service: AddonService): Record<string, string> {
  return { init: INIT, setup: service === 'postgresql' ? PG_SETUP : REDIS_SETUP };
}
