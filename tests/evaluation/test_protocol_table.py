"""format_protocol_table and dump_results."""
import csv
import json

import pytest

from vireid.evaluation import dump_results, format_protocol_table

METRICS = {
    'sysu/all-single/R1': 61.234, 'sysu/all-single/R1_std': 1.5,
    'sysu/all-single/mAP': 58.0, 'sysu/all-single/mAP_std': 0.25,
    'sysu/indoor-single/R1': 70.0, 'sysu/indoor-single/R1_std': 2.0,
    'sysu/indoor-single/mAP': 75.5, 'sysu/indoor-single/mAP_std': 0.0,
    'R1': 61.234, 'mAP': 58.0,
}


def test_table_rows_are_modes_and_cells_mean_pm_std():
    table = format_protocol_table(METRICS).splitlines()
    assert table[0].split() == ['protocol', 'mode', 'R1', 'mAP']
    assert set(table[1]) == {'-'}
    assert table[2].split() == ['sysu', 'all-single', '61.23', '±', '1.50',
                                '58.00', '±', '0.25']
    assert table[3].split()[:5] == ['sysu', 'indoor-single', '70.00', '±',
                                    '2.00']
    assert len(table) == 4  # the top-level aliases are not rows


def test_table_orders_rank_columns_and_accepts_an_evaluator_prefix():
    table = format_protocol_table({'val/regdb/vis2ir/mINP': 1.0,
                                   'val/regdb/vis2ir/R10': 3.0,
                                   'val/regdb/vis2ir/R1': 2.0})
    header, row = table.splitlines()[0], table.splitlines()[2]
    assert header.split() == ['protocol', 'mode', 'R1', 'R10', 'mINP']
    assert row.split() == ['regdb', 'vis2ir', '2.00', '3.00', '1.00']
    with pytest.raises(ValueError, match='no protocol results'):
        format_protocol_table({'accuracy/top1': 3.0})


def test_dump_json_and_csv(tmp_path):
    json_path = dump_results(METRICS, str(tmp_path / 'out' / 'test.json'))
    with open(json_path) as f:
        assert json.load(f) == METRICS
    csv_path = dump_results(METRICS, str(tmp_path / 'test.csv'))
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert [(r['protocol'], r['mode']) for r in rows] == [
        ('sysu', 'all-single'), ('sysu', 'indoor-single')]
    assert float(rows[0]['R1']) == pytest.approx(61.234)
    assert float(rows[0]['mAP_std']) == pytest.approx(0.25)
    with pytest.raises(ValueError, match=r'test\.txt'):
        dump_results(METRICS, str(tmp_path / 'test.txt'))
