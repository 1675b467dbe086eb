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

/** Where the PostgreSQL image keeps the cluster initdb made when the image was built. */
const PG_TEMPLATE = '/usr/lib/paas-addon/pgdata';

// PostgreSQL, at image build time, as nobody: initdb once, with the small host's settings, into a
// template every add-on copies, so provisioning skips initdb's second or so. Its files are made
// world-readable there (the cluster holds no secret: no role in it has a password), since the
// copy runs as the add-on's uid; the copy is 0700/0600 again. (The copies share initdb's system
// identifier, which only replication between clusters looks at.)
const PG_TEMPLATE_SCRIPT = `#!/bin/sh
set -eu
initdb -D ${PG_TEMPLATE} -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 --no-sync --no-instructions >/dev/null
cat >> ${PG_TEMPLATE}/postgresql.conf <<'CONF'
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
cat > ${PG_TEMPLATE}/pg_hba.conf <<'HBA'
# The superuser only over the container's own socket (paas's backups); apps with their password.
local all postgres peer
host all all all scram-sha-256
HBA
# A role and database of its own, renamed for each add-on: much quicker than CREATE DATABASE.
printf 'CREATE ROLE app LOGIN\\nCREATE DATABASE app OWNER app\\nDROP DATABASE postgres\\n' | postgres --single -D ${PG_TEMPLATE} template1 >/dev/null
chmod -R go+rX ${PG_TEMPLATE}
`;

// PostgreSQL, as the add-on's uid: the template cluster copied into the volume, then its role and
// database named and the password set in single-user mode, before the server listens at all; one
// syncfs of the volume's filesystem makes it all durable.
const PG_SETUP = `#!/bin/sh
set -eu
umask 077
IFS= read -r password
user=$1 db=$2
printf 'postgres:x:%s:%s:PostgreSQL:${DATA}:/bin/false\\n' "$(id -u)" "$(id -g)" > ${DATA}/passwd
printf 'postgres:x:%s:\\n' "$(id -g)" > ${DATA}/group
${PG_ENV.map((e) => `export ${e}`).join('\n')}
# Sparse: most of the template's one WAL segment is zeros.
cp -R --sparse=always ${PG_TEMPLATE} "$PGDATA"
chmod 0700 "$PGDATA"
# printf is the shell's builtin: the password is in no process's argv. A rename clears a role's
# SCRAM secret, so the password is set after it.
printf 'ALTER ROLE app RENAME TO "%s"\\nALTER ROLE "%s" PASSWORD '"'"'%s'"'"'\\nALTER DATABASE app RENAME TO "%s"\\n' "$user" "$user" "$password" "$db" | postgres --single -D "$PGDATA" template1 >/dev/null
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
  return service === 'postgresql' ? { init: INIT, setup: PG_SETUP, template: PG_TEMPLATE_SCRIPT } : { init: INIT, setup: REDIS_SETUP };
}
