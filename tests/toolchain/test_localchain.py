"""ganache.json is the single source of the local chain's settings."""

from scripts import localchain


def test_nested_settings_become_ganache_flags():
    settings = {"chain": {"chainId": 1337, "hardfork": "shanghai"}, "logging": {"quiet": True}}
    assert localchain.cli_args(settings) == [
        "--chain.chainId", "1337", "--chain.hardfork", "shanghai", "--logging.quiet", "true",
    ]


def test_committed_settings_name_what_the_product_relies_on():
    settings = localchain.load_settings()
    assert settings["chain"]["hardfork"] == "shanghai"
    assert localchain.chain_id(settings) == 1337
    assert settings["database"]["dbPath"].startswith(str(localchain.ROOT / "data"))
    assert localchain.rpc_url(settings) == "http://127.0.0.1:8545"


def test_dev_accounts_match_ganache(accounts):
    for index in (0, 7):
        assert localchain.dev_account(index).address == accounts[index].address
