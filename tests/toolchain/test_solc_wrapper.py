"""The offline `solc` (scripts/solc.js over solcjs) behaves like native solc for py-solc-x:
version banner, standard JSON through a pipe, large outputs intact, errors as JSON with exit 0."""

import json
import re
import subprocess
from pathlib import Path

import solcx

ROOT = Path(__file__).resolve().parents[2]
SOLC = ["node", str(ROOT / "scripts" / "solc.js")]


def run(args, stdin=""):
    return subprocess.run(SOLC + args, input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_version_banner_parses_like_native_solc():
    result = run(["--version"])
    assert result.returncode == 0
    assert re.search(r"Version: 0\.8\.28\+commit\.[0-9a-f]{8}", result.stdout)


def test_py_solc_x_compiles_with_the_installed_wrapper():
    assert "0.8.28" in [str(v) for v in solcx.get_installed_solc_versions()]
    source = "contract A { function f() external pure returns (uint) { return 1; } }"
    output = solcx.compile_standard(
        {"language": "Solidity", "sources": {"a.sol": {"content": source}}, "settings": {"outputSelection": {"*": {"*": ["abi"]}}}},
        solc_version="0.8.28",
    )
    assert output["contracts"]["a.sol"]["A"]["abi"][0]["name"] == "f"


def test_large_output_arrives_whole_through_a_pipe():
    """Every contract with every output selected, imports resolved through the remapping."""
    sources = {
        f"contracts/{path.name}": {"content": path.read_text()} for path in (ROOT / "contracts").glob("*.sol")
    }
    standard_input = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "remappings": ["@openzeppelin=node_modules/@openzeppelin"],
            "evmVersion": "shanghai",
            "optimizer": {"enabled": True, "runs": 10000},
            "outputSelection": {"*": {"*": ["*"], "": ["ast"]}},
        },
    }
    result = run(["--standard-json", "--allow-paths", str(ROOT)], json.dumps(standard_input))

    assert result.returncode == 0
    assert len(result.stdout) > 128 * 1024
    output = json.loads(result.stdout)
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"]
    assert output["contracts"]["contracts/CareChain.sol"]["CareChain"]["evm"]["deployedBytecode"]["object"]


def test_compiler_errors_come_back_as_json_with_exit_zero():
    broken = {"language": "Solidity", "sources": {"x.sol": {"content": "contract {"}}}
    result = run(["--standard-json"], json.dumps(broken))
    assert result.returncode == 0
    errors = json.loads(result.stdout)["errors"]
    assert errors[0]["severity"] == "error" and errors[0]["type"] == "ParserError"


def test_missing_import_is_reported_not_crashed():
    source = {"language": "Solidity", "sources": {"x.sol": {"content": 'import "./nowhere.sol";'}}}
    result = run(["--standard-json"], json.dumps(source))
    assert result.returncode == 0
    errors = [e["message"] for e in json.loads(result.stdout)["errors"] if e["severity"] == "error"]
    assert len(errors) == 1 and "File not found: nowhere.sol" in errors[0]


def test_unsupported_arguments_fail_clearly():
    result = run(["--bin", "x.sol"])
    assert result.returncode == 1
    assert "unsupported argument: --bin" in result.stderr
