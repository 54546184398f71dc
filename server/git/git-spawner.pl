#!/usr/bin/perl
# The git spawner (server/git/git-spawner.ts): a small long-lived process that starts the git
# processes serving each smart-HTTP request, so that the ~100 MB server never forks per request.
# A fork from Node copies its page tables and blocks its event loop until the child has exec'd:
# measured as 45% of the server's own time under load (bench/results/capacity-profile.md).
#
#   perl git-spawner.pl SOCKET   → listens on SOCKET (a Unix socket in a 0700 directory), prints
#                                   "ready\n"; exits when its stdin (a pipe from the server) closes.
#
# Per connection the server sends "<length>\n" and then <length> bytes: NUL-separated fields, the
# first the kind of process, the rest KEY=VALUE for its environment. Only a fixed set of kinds and
# keys is taken (never a command line from the request): the kind picks the argv. The child writes
# its pid and a newline, then runs with the connection as its stdin and stdout; the server half-closes
# the connection when the request body ends, and reads the output until the child closes it.
use strict;
use warnings;
use IO::Socket::UNIX;
use POSIX ();

my $path = $ARGV[0] or die "usage: git-spawner.pl SOCKET\n";

my %KINDS = (
  'http-backend'   => sub { ('git', 'http-backend') },
  # git http-backend's own argv for the receive-pack service, run directly: one exec fewer per request.
  'receive-refs'   => sub { ('git', 'receive-pack', '--stateless-rpc', '--advertise-refs', $_[0]) },
  'receive-rpc'    => sub { ('git', 'receive-pack', '--stateless-rpc', $_[0]) },
);
my %KEYS = map { $_ => 1 } qw(
  GIT_PROJECT_ROOT GIT_HTTP_EXPORT_ALL GIT_HTTP_MAX_REQUEST_BUFFER GIT_PROTOCOL PATH_INFO REMOTE_USER
  REMOTE_ADDR REQUEST_METHOD QUERY_STRING CONTENT_TYPE HTTP_CONTENT_ENCODING GIT_COMMITTER_NAME
  GIT_COMMITTER_EMAIL PUSHMANAGER_HOOK_SOCKET PUSHMANAGER_PUSH_TOKEN PUSHMANAGER_GIT_DIR
  GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0
);
my %BASE = map { defined $ENV{$_} ? ($_ => $ENV{$_}) : () } qw(PATH HOME LANG LC_ALL TZ);

unlink $path;
my $listen = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 128)
  or die "git-spawner: cannot listen on $path: $!\n";
chmod 0600, $path;

# Children are reaped as they exit; each child puts the default back before exec (git waits for its own).
$SIG{CHLD} = sub { 1 while waitpid(-1, POSIX::WNOHANG()) > 0 };
$SIG{PIPE} = 'IGNORE';
$| = 1;
print "ready\n";

sub read_exact {
  my ($fh, $n) = @_;
  my $buf = '';
  while (length($buf) < $n) {
    my $r = sysread($fh, $buf, $n - length($buf), length($buf));
    if (!defined $r) { next if $!{EINTR}; return undef }
    return undef if $r == 0;
  }
  return $buf;
}

# The length line, a byte at a time: nothing past it may be read here, it belongs to the child.
sub read_header {
  my ($conn) = @_;
  my $len = '';
  while (1) {
    my $c = read_exact($conn, 1);
    return undef unless defined $c;
    last if $c eq "\n";
    return undef if $c !~ /^[0-9]$/ || length($len) > 6;
    $len .= $c;
  }
  return undef if $len eq '' || $len > 65536;
  my $body = read_exact($conn, $len);
  return undef unless defined $body;
  my ($kind, @pairs) = split /\0/, $body;
  return undef unless defined $kind && $KINDS{$kind};
  my %env = %BASE;
  for my $p (@pairs) {
    my ($k, $v) = split /=/, $p, 2;
    return undef unless defined $v && $KEYS{$k};
    $env{$k} = $v;
  }
  return ($kind, \%env);
}

my $rin = '';
vec($rin, fileno(STDIN), 1) = 1;
vec($rin, fileno($listen), 1) = 1;
while (1) {
  my $n = select(my $rout = $rin, undef, undef, undef);
  if ($n < 0) { next if $!{EINTR}; die "git-spawner: select: $!\n" }
  if (vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, my $b, 512);
    if (defined $r && $r == 0) { unlink $path; exit 0 } # the server is gone
  }
  next unless vec($rout, fileno($listen), 1);
  my $conn = $listen->accept() or next;
  local $SIG{ALRM} = sub { die "timeout\n" };
  my ($kind, $env) = eval { alarm 5; my @h = read_header($conn); alarm 0; @h };
  alarm 0;
  if (!defined $kind) { close $conn; next }
  my $pid = fork();
  if (!defined $pid) { close $conn; next }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT';
    $SIG{PIPE} = 'DEFAULT';
    close $listen;
    my $gitdir = delete $env->{PUSHMANAGER_GIT_DIR} // '';
    POSIX::_exit(126) if $kind ne 'http-backend' && $gitdir !~ m{^/};
    my @argv = $KINDS{$kind}->($gitdir);
    POSIX::dup2(fileno($conn), 0) or POSIX::_exit(126);
    POSIX::dup2(fileno($conn), 1) or POSIX::_exit(126);
    open(STDERR, '>', '/dev/null');
    close $conn;
    syswrite(STDOUT, "$$\n");
    %ENV = %$env;
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    POSIX::_exit(127);
  }
  close $conn;
}
