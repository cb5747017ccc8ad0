# /etc/nomadlike.d/server.hcl: server-1 of a three-server cluster
# (10.0.0.1, 10.0.0.2, 10.0.0.3). Copy it to each server and change name,
# addresses and retry_join. Check it with:
#   nomadlike agent validate /etc/nomadlike.d
region     = "global"
datacenter = "dc1"
name       = "server-1"
data_dir   = "/var/lib/nomadlike"
bind_addr  = "0.0.0.0"

log_level            = "INFO"
log_file             = "/var/log/nomadlike/"   # nomadlike.log, rotated
log_rotate_bytes     = 67108864
log_rotate_max_files = 7

# A planned stop (systemctl stop) leaves Raft and gossip; a crash does not.
leave_on_terminate = true

advertise {
  http = "10.0.0.1"
  rpc  = "10.0.0.1"
  serf = "10.0.0.1"
}

server {
  enabled          = true
  bootstrap_expect = 3
  retry_join       = ["10.0.0.2", "10.0.0.3"]
  # from nomadlike operator gossip keygen;
  # the same key on every server.
  encrypt = "uOjYjmJ6G2Ya7tRjvcU8VOMm4bYzUZzqEMBaTxORGcw="
}

# Bootstrap once with: nomadlike acl bootstrap
acl {
  enabled = true
}

# Made by: nomadlike tls ca create (once), nomadlike tls cert create -server
tls {
  http = true
  rpc  = true
  verify_server_hostname = true
  ca_file   = "/etc/nomadlike.d/tls/nomadlike-agent-ca.pem"
  cert_file = "/etc/nomadlike.d/tls/global-server-nomadlike.pem"
  key_file  = "/etc/nomadlike.d/tls/global-server-nomadlike-key.pem"
}
