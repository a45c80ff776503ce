"""load_results and average_runs: protocol tables of separate runs (RegDB's trials)."""
import json

import pytest

from vireid.evaluation import average_runs, dump_results, load_results

RUN_A = {'regdb/vis2ir/R1': 50.0, 'regdb/vis2ir/R1_std': 0.0, 'regdb/vis2ir/mAP': 40.0,
         'regdb/ir2vis/R1': 30.0, 'R1': 50.0}
RUN_B = {'regdb/vis2ir/R1': 60.0, 'regdb/vis2ir/R1_std': 0.0, 'regdb/vis2ir/mAP': 44.0,
         'regdb/ir2vis/R1': 36.0, 'R1': 60.0}
RUN_C = {'regdb/vis2ir/R1': 55.0, 'regdb/vis2ir/R1_std': 0.0, 'regdb/vis2ir/mAP': 48.0,
         'regdb/ir2vis/R1': 30.0, 'R1': 55.0}


def test_runs_average_to_their_mean_and_the_spread_between_them():
    averaged = average_runs({'a': RUN_A, 'b': RUN_B, 'c': RUN_C})
    assert averaged['regdb/vis2ir/R1'] == pytest.approx(55.0)
    # population std of 50, 60, 55: sqrt((25 + 25 + 0) / 3)
    assert averaged['regdb/vis2ir/R1_std'] == pytest.approx((50 / 3) ** 0.5)
    assert averaged['regdb/vis2ir/mAP'] == pytest.approx(44.0)
    assert averaged['regdb/vis2ir/mAP_std'] == pytest.approx((32 / 3) ** 0.5)
    assert averaged['regdb/ir2vis/R1'] == pytest.approx(32.0)
    assert averaged['regdb/ir2vis/R1_std'] == pytest.approx(8 ** 0.5)
    # the headline alias is averaged, without a spread of its own
    assert averaged['R1'] == pytest.approx(55.0) and 'R1_std' not in averaged


def test_a_csv_run_without_the_headline_aliases_averages_with_json_runs():
    csv_like = {k: v for k, v in RUN_B.items() if '/' in k}
    averaged = average_runs({'a.json': RUN_A, 'b.csv': csv_like})
    assert averaged['regdb/vis2ir/R1'] == pytest.approx(55.0) and 'R1' not in averaged


def test_runs_of_other_modes_one_run_or_a_run_twice_are_refused():
    partial = {k: v for k, v in RUN_B.items() if k != 'regdb/vis2ir/mAP'}
    with pytest.raises(ValueError, match=r"^b lacks 'regdb/vis2ir/mAP', unlike a"):
        average_runs({'a': RUN_A, 'b': partial})
    with pytest.raises(ValueError, match=r"^b has 'sysu/all-single/R1', unlike a"):
        average_runs({'a': RUN_A, 'b': dict(RUN_B, **{'sysu/all-single/R1': 1.0})})
    with pytest.raises(ValueError, match='at least two runs'):
        average_runs({'a': RUN_A})
    with pytest.raises(ValueError, match='c and a hold identical metrics'):
        average_runs({'a': RUN_A, 'b': RUN_B, 'c': dict(RUN_A)})


@pytest.mark.parametrize('suffix', ['json', 'csv'])
def test_results_written_by_the_test_tool_read_back(tmp_path, suffix):
    path = dump_results(RUN_A, str(tmp_path / f'run.{suffix}'))
    loaded = load_results(path)
    protocol_keys = {k: v for k, v in RUN_A.items() if '/' in k}
    # a csv keeps the protocol rows (with their std columns), not the headline aliases
    expected = RUN_A if suffix == 'json' else protocol_keys
    assert loaded == pytest.approx(expected)


def test_a_bad_results_file_is_named_with_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match='gone.json: no such results file'):
        load_results(str(tmp_path / 'gone.json'))
    with pytest.raises(ValueError, match=r'run.txt: results must be a .json or .csv'):
        load_results(str(tmp_path / 'run.txt'))
    (tmp_path / 'cut.json').write_text('{"regdb/vis2ir/R1": 5')
    with pytest.raises(ValueError, match='cut.json: not a results file'):
        load_results(str(tmp_path / 'cut.json'))
    (tmp_path / 'text.json').write_text(json.dumps({'regdb/vis2ir/R1': 'high'}))
    with pytest.raises(ValueError, match=r"text.json: metric 'regdb/vis2ir/R1' is 'high'"):
        load_results(str(tmp_path / 'text.json'))
    (tmp_path / 'other.json').write_text(json.dumps({'accuracy/top1': 3.0}))
    with pytest.raises(ValueError, match='other.json: no protocol results'):
        load_results(str(tmp_path / 'other.json'))
    (tmp_path / 'bad.csv').write_text('protocol,mode,R1\nregdb,vis2ir,5\nregdb,ir2vis,x\n')
    with pytest.raises(ValueError, match=r"bad.csv: .*line 3: R1='x' is not a number"):
        load_results(str(tmp_path / 'bad.csv'))
    (tmp_path / 'long.csv').write_text('protocol,mode,R1\nregdb,vis2ir,5,6\n')
    with pytest.raises(ValueError, match='long.csv: line 2 has more fields than the header'):
        load_results(str(tmp_path / 'long.csv'))
