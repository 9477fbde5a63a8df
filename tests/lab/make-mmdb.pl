#!/usr/bin/perl
# Builds tests/data/lab-asn.mmdb, a small MaxMind-format database for the
# lab's addresses, with MaxMind's own writer (libmaxmind-db-writer-perl).
# The lab's "WAF" sits in 203.0.113.16/29 (AS64500); its blob storage in
# 203.0.113.24/29 (AS64501).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: make-mmdb.pl OUT.mmdb\n";
my %types = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
    country                        => 'map',
    iso_code                       => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 24,
    database_type         => 'pinhole-lab-ASN',
    languages             => ['en'],
    description           => { en => 'pinhole lab ASN database' },
    map_key_type_callback => sub { $types{ $_[0] } },
    alias_ipv6_to_ipv4    => 1,
    remove_reserved_networks => 0, # the lab uses documentation ranges
);
$tree->insert_network('203.0.113.16/29', {
    autonomous_system_number       => 64500,
    autonomous_system_organization => 'Lab WAF Networks',
    country                        => { iso_code => 'CA' },
});
$tree->insert_network('203.0.113.24/29', {
    autonomous_system_number       => 64501,
    autonomous_system_organization => 'Lab Cloud Storage',
    country                        => { iso_code => 'US' },
});
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh;
