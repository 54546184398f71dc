#!/usr/bin/perl
# git's proc-receive hook for the managed repository, in core Perl: the same bridge as proc-receive.ts,
# chosen by server/repo/managed-repo.ts when perl can run it, because perl starts in ~10-30 ms where
# node takes ~200 ms, and that start-up was most of a push's latency. It reads the pushed ref updates
# and push options (pkt-line on stdin), POSTs them as JSON to the server's loopback hook port, and
# copies the server's answer out unchanged: it asks for the byte report (HOOK_REPORT_TYPE in
# hook-protocol.ts), so it needs no JSON parser. It never writes state: the server holds the only
# writer. Core modules only; Socket rather than IO::Socket::INET, which takes twice as long to load.
use strict;
use Socket qw(SOCK_STREAM getaddrinfo);

use constant {
  HOOK_PATH => '/_internal/hooks/proc-receive',
  HOOK_SECRET_HEADER => 'x-pushmanager-hook-secret',
  HOOK_REPORT_TYPE => 'application/x-pushmanager-hook-report',
};

binmode STDIN;
binmode STDOUT;
binmode STDERR;
# A closed socket or pipe must be an error we can report, not a silent death by signal.
$SIG{PIPE} = 'IGNORE';

my $in = '';

sub fill {
  my ($n) = @_;
  while (length($in) < $n) {
    my $got = sysread(STDIN, $in, 65536, length $in);
    die "reading from git: $!\n" unless defined $got;
    die "git closed the pipe in the middle of a packet\n" unless $got;
  }
}

# One pkt-line: its text without the trailing newline, or undef for a flush.
sub packet {
  fill(4);
  my $hex = substr($in, 0, 4, '');
  die "bad pkt-line length\n" unless $hex =~ /\A[0-9a-fA-F]{4}\z/;
  my $len = hex $hex;
  return undef if $len == 0;
  die "unexpected pkt-line $len\n" if $len < 4;
  fill($len - 4);
  my $text = substr($in, 0, $len - 4, '');
  $text =~ s/\n\z//;
  return $text;
}

sub until_flush {
  my @lines;
  while (defined(my $p = packet())) { push @lines, $p }
  return @lines;
}

sub pkt {
  my ($text) = @_;
  my $len = length($text) + 4;
  die "pkt-line too long\n" if $len > 65520;
  return sprintf('%04x', $len) . $text;
}

sub write_all {
  my ($fh, $bytes) = @_;
  while (length $bytes) {
    my $n = syswrite($fh, $bytes);
    die "write failed: $!\n" unless defined $n;
    substr($bytes, 0, $n, '');
  }
}

# JSON string from raw bytes: quote, backslash and control characters escaped; bytes of 0x80 and up
# pass through, so UTF-8 stays UTF-8 (and invalid UTF-8 is decoded by the server exactly as the Node
# hook's would be).
sub json_str {
  my ($s) = @_;
  $s =~ s/(["\\])/\\$1/g;
  $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord $1)/ge;
  return qq("$s");
}

sub json_list { return '[' . join(',', @_) . ']' }

# POSTs the JSON body over plain HTTP/1.0 (the server closes when done) and returns the report body.
sub ask {
  my ($body) = @_;
  my $url = $ENV{PUSHMANAGER_HOOK_URL};
  die "PUSHMANAGER_HOOK_URL is not set\n" unless defined $url && length $url;
  my ($host, $port) = $url =~ m{\Ahttp://(\[[^\]/]*\]|[^/:\[\]]+)(?::(\d+))?(?:/|\z)}
    or die "PUSHMANAGER_HOOK_URL is not an http:// URL: $url\n";
  $port = 80 unless defined $port;
  (my $name = $host) =~ s/\A\[(.*)\]\z/$1/;
  my ($err, @addrs) = getaddrinfo($name, $port, { socktype => SOCK_STREAM });
  die "cannot resolve $name: $err\n" if $err || !@addrs;
  my $sock;
  my $why = '';
  for my $a (@addrs) {
    socket($sock, $a->{family}, $a->{socktype}, $a->{protocol}) or do { $why = $!; next };
    last if connect($sock, $a->{addr});
    $why = $!;
    close $sock;
    undef $sock;
  }
  die "connect to $host:$port: $why\n" unless $sock;
  binmode $sock;
  my $secret = defined $ENV{PUSHMANAGER_HOOK_SECRET} ? $ENV{PUSHMANAGER_HOOK_SECRET} : '';
  $secret =~ s/[\r\n]//g;
  write_all($sock, join("\r\n",
    'POST ' . HOOK_PATH . ' HTTP/1.0',
    "Host: $host:$port",
    'Content-Type: application/json',
    'Content-Length: ' . length($body),
    'Accept: ' . HOOK_REPORT_TYPE,
    HOOK_SECRET_HEADER . ": $secret",
    '', '') . $body);
  my $res = '';
  for (;;) {
    my $got = sysread($sock, $res, 65536, length $res);
    die "reading the answer: $!\n" unless defined $got;
    last unless $got;
  }
  close $sock;
  my $split = index($res, "\r\n\r\n");
  die "the server closed the connection without an answer\n" if $split < 0;
  my $head = substr($res, 0, $split);
  my $content = substr($res, $split + 4);
  my ($status) = $head =~ m{\AHTTP/\d\.\d (\d{3})} or die "the server sent no HTTP status line\n";
  if ($head =~ /^content-length:\s*(\d+)\s*$/mi) {
    die "the answer was cut short\n" if length($content) < $1;
    $content = substr($content, 0, $1);
  }
  if ($status ne '200') {
    (my $shown = substr($content, 0, 200)) =~ s/[\r\n]+/ /g;
    die "server answered $status: $shown\n";
  }
  return $content;
}

sub main {
  # Version negotiation: git sends "version=1\0<capabilities>" ("atomic" for `git push --atomic`,
  # "push-options" when the client may send them); we answer that we want the push options.
  my %caps = map { $_ => 1 } map { my (undef, $c) = split /\0/, $_, 2; split / /, defined $c ? $c : '' } until_flush();
  my $wants_options = $caps{'push-options'};
  my $atomic = $caps{atomic} ? 'true' : 'false';
  write_all(\*STDOUT, pkt("version=1\0" . ($wants_options ? 'push-options' : '')) . '0000');

  my @commands = map { [map { defined $_ ? $_ : '' } (split / /, $_, -1)[0 .. 2]] } until_flush();
  my @options = $wants_options ? until_flush() : ();

  my $user = defined $ENV{REMOTE_USER} ? $ENV{REMOTE_USER} : '';
  my $body = '{"user":' . json_str($user)
    . ',"commands":' . json_list(map { '{"oldSha":' . json_str($_->[0]) . ',"newSha":' . json_str($_->[1]) . ',"ref":' . json_str($_->[2]) . '}' } @commands)
    . ',"options":' . json_list(map { json_str($_) } @options) . ',"atomic":' . $atomic . '}';

  my ($stderr, $stdout, $failure);
  my $report = eval { ask($body) };
  if (!defined $report) {
    $failure = $@;
  } elsif ($report =~ /\A(\d{1,10})\n/ && length($report) >= length($1) + 1 + $1) {
    my $n = $1;
    $stderr = substr($report, length($n) + 1, $n);
    $stdout = substr($report, length($n) + 1 + $n);
  } else {
    $failure = 'the server sent a malformed hook report';
  }
  if (defined $failure) {
    # The same refusal as the Node hook's unreachableAnswer: every ref refused, and why.
    (my $detail = $failure) =~ s/\s+\z//;
    $detail =~ s/[\r\n]+/ /g;
    my $why = "pushmanager server unreachable ($detail); nothing was recorded, try again";
    $stderr = "$why\n";
    $stdout = join('', map { pkt("ng $_->[2] $why") } @commands) . '0000';
  }
  write_all(\*STDERR, $stderr);
  write_all(\*STDOUT, $stdout);
}

eval { main(); 1 } or do {
  (my $e = $@) =~ s/\s+\z//;
  print STDERR "pushmanager hook failed: $e\n";
  exit 1;
};
exit 0;
