#!/usr/bin/perl
# git's proc-receive hook for the managed repository: a relay that knows no protocol. It connects to the
# server's Unix socket (PUSHMANAGER_HOOK_SOCKET), sends the per-push token (PUSHMANAGER_PUSH_TOKEN) on
# one line, then copies its stdin (what receive-pack says) to the socket as it comes, and the socket's
# band frames (git's side-band: a pkt-line whose first byte says 1 stdout, 2 stderr, 3 stderr then exit 1;
# a flush ends) to its stdout and stderr. The server speaks proc-receive (hooks/hook-protocol.ts).
# The same relay as proc-receive.ts, chosen by server/repo/managed-repo.ts when perl can run it, because
# perl starts in ~15 ms where node takes ~120 ms. Core Perl only: Socket, not IO::Socket::UNIX.
# It runs once per push, so what it loads counts: `use Socket` (with Carp, Exporter, XSLoader and
# warnings behind it) took 5 of its 6 ms of CPU, and a mention of %! loads Errno at compile time. On
# Linux it needs neither (see connect_fast); elsewhere, and whenever the fast way fails, Socket is
# loaded at run time and does it the portable way, with the same errors as before.
use strict;

binmode STDIN;
binmode STDOUT;
binmode STDERR;
# A closed socket or pipe must be an error we can report, not a silent death by signal.
$SIG{PIPE} = 'IGNORE';

sub write_all {
  my ($fh, $bytes) = @_;
  while (length $bytes) {
    my $n = syswrite($fh, $bytes);
    die "write failed: $!\n" unless defined $n;
    substr($bytes, 0, $n, '');
  }
}

sub unreachable {
  (my $why = shift) =~ s/[\r\n]+/ /g;
  write_all(\*STDERR, "pushmanager server unreachable ($why); nothing was recorded, try again\n");
  exit 1;
}

my $path = $ENV{PUSHMANAGER_HOOK_SOCKET};
unreachable('PUSHMANAGER_HOOK_SOCKET is not set') unless defined $path && length $path;
# Linux's numbers, which are its ABI: AF_UNIX 1, SOCK_STREAM 1 (except on MIPS, where 1 is SOCK_DGRAM
# and connecting to the server's stream socket fails: then the portable way below runs), and a
# sockaddr_un that is a native unsigned short family followed by the path.
sub connect_fast {
  return undef unless $^O eq 'linux';
  socket(my $s, 1, 1, 0) or return undef;
  connect($s, pack('S', 1) . $path . "\0") or return undef;
  return $s;
}

my $sock = connect_fast();
if (!$sock) {
  require Socket;
  socket($sock, Socket::AF_UNIX(), Socket::SOCK_STREAM(), 0) or unreachable("socket: $!");
  # The errno's name (ENOENT, ECONNREFUSED, EACCES), as the Node relay says it too.
  connect($sock, Socket::pack_sockaddr_un($path)) or do { my $err = $!; my $code = $err + 0; my ($name) = eval q{ local $! = $code; grep { $!{$_} } keys %! }; unreachable("connect to $path: " . ($name || $err)) };
}
binmode $sock;

my $token = defined $ENV{PUSHMANAGER_PUSH_TOKEN} ? $ENV{PUSHMANAGER_PUSH_TOKEN} : '';
$token =~ s/[\r\n]//g;

my $ok = eval {
  write_all($sock, "$token\n");
  my $in_open = 1;
  my $buf = '';
  for (;;) {
    my $rin = '';
    vec($rin, fileno($sock), 1) = 1;
    vec($rin, fileno(STDIN), 1) = 1 if $in_open;
    my $n = select(my $rout = $rin, undef, undef, undef);
    if ($n < 0) { my $err = $!; require Errno; next if $err == Errno::EINTR(); die "select: $err\n" }
    if ($in_open && vec($rout, fileno(STDIN), 1)) {
      my $got = sysread(STDIN, my $chunk, 65536);
      die "reading from git: $!\n" unless defined $got;
      if ($got) { write_all($sock, $chunk) }
      else { $in_open = 0; shutdown($sock, 1) }
    }
    next unless vec($rout, fileno($sock), 1);
    my $got = sysread($sock, $buf, 65536, length $buf);
    die "reading from the server: $!\n" unless defined $got;
    die "the server closed the connection without an answer\n" unless $got;
    while (length($buf) >= 4) {
      my $hex = substr($buf, 0, 4);
      die "the server sent a bad frame\n" unless $hex =~ /\A[0-9a-fA-F]{4}\z/;
      my $len = hex $hex;
      return 1 if $len == 0;
      die "the server sent a bad frame\n" if $len < 5;
      last if length($buf) < $len;
      my $band = substr($buf, 4, 1);
      my $data = substr($buf, 5, $len - 5);
      substr($buf, 0, $len, '');
      if ($band eq "\1") { write_all(\*STDOUT, $data) }
      elsif ($band eq "\2") { write_all(\*STDERR, $data) }
      elsif ($band eq "\3") { write_all(\*STDERR, $data); exit 1 }
      else { die "the server sent a bad frame\n" }
    }
  }
};
if (!$ok) {
  (my $e = $@) =~ s/\s+\z//;
  print STDERR "pushmanager hook failed: $e\n";
  exit 1;
}
exit 0;
