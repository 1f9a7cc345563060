#!/bin/sh
# /keys/authorized_keys: who may push. Seeds /srv/git/app.git (main: a README and a CI
# workflow), then serves SSH in the foreground.
set -eu
ssh-keygen -A >/dev/null
install -d -o git -g git -m 700 /srv/git/.ssh
install -o git -g git -m 600 /keys/authorized_keys /srv/git/.ssh/authorized_keys
if [ ! -d /srv/git/app.git ]; then
    su -s /bin/sh git -c '
        set -eu
        git init -q --bare -b main /srv/git/app.git
        seed=$(mktemp -d)
        cd "$seed" && git init -q -b main
        git config user.name upstream && git config user.email upstream@example.test
        echo hello > README && mkdir -p .github/workflows && echo "on: push" > .github/workflows/ci.yml
        git add -A && git commit -q -m first
        git push -q /srv/git/app.git main
    '
fi
echo "upstream ready"
exec /usr/sbin/sshd -D -e -o PasswordAuthentication=no
