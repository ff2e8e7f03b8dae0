"""Training and honest evaluation of the text classifier on generated texts.

`train_models` trains the incident model on the call texts and the report model on the narratives of one
seed (training phrasings only), plus every override a person recorded. `evaluate` trains on one seed
and tests on another seed's held-out phrasings, against two baselines: the majority class, and keyword
rules as a police analyst would write them (`INCIDENT_RULES`, `REPORT_RULES`: first matching rule wins).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pingan.antifraud.reports.choices import Typology
from pingan.command import classify
from pingan.command.classify import Kind, TextModel
from pingan.sim.calls import LabelledText, call_texts, report_narratives

# How many times an override counts against one generated text.
OVERRIDE_WEIGHT = 20.0

# Keyword rules, in the order an analyst would check them: the rarer, more specific events first.
INCIDENT_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("0601", ("打着玩", "无人说话", "骚扰", "辱骂接警", "谎报", "打错了", "恶作剧")),
    ("0401", ("着火", "起火", "失火", "火灾", "冒烟", "自燃", "烧起来", "浓烟")),
    ("0402", ("落水", "掉河", "被困", "跳楼", "轻生", "溺水", "塌方", "困在")),
    ("0301", ("车祸", "撞了", "追尾", "相撞", "事故", "撞飞", "刮了", "翻车")),
    ("0302", ("堵车", "堵死", "违停", "乱停", "占道", "挡住", "出不去", "红绿灯")),
    ("0102", ("抢劫", "抢走", "抢了", "夺包", "抢夺", "交出来", "拦路")),
    ("0103", ("骗", "转账", "安全账户", "刷单", "冒充", "上当")),
    ("0104", ("砍", "捅", "刀", "受伤", "打伤", "骨折", "流血")),
    ("0202", ("打架", "斗殴", "互殴", "群殴", "打了", "揍", "动手", "拳")),
    ("0101", ("偷", "被盗", "失窃", "小偷", "扒", "撬", "不见了", "丢了", "没了")),
    ("0105", ("砸坏", "划了", "扎胎", "破坏", "关在", "扣着", "扣下", "油漆")),
    ("0203", ("噪音", "吵得", "太吵", "扰民", "声音太大", "施工", "音响", "吵死")),
    ("0204", ("闹事", "醉酒", "喝醉", "寻衅", "滋事", "撒酒疯", "起哄", "耍酒疯")),
    ("0201", ("纠纷", "吵架", "吵起来", "矛盾", "不退", "欠", "拖欠", "争执")),
    ("0501", ("走丢", "走失", "迷路", "钥匙", "开锁", "求助", "帮忙", "找不到")),
    ("0502", ("咨询", "请问", "问一下", "怎么办", "材料", "窗口")),
]

REPORT_RULES: list[tuple[str, tuple[str, ...]]] = [
    (Typology.ORDER_BRUSHING.value, ("刷单", "点赞", "兼职", "做任务", "返利", "佣金")),
    (Typology.FAKE_POLICE.value, ("公安", "检察", "法院", "通缉", "安全账户", "涉嫌", "洗钱")),
    (Typology.FAKE_CUSTOMER_SERVICE.value, ("客服", "理赔", "退款", "快递")),
    (Typology.FAKE_LOAN.value, ("贷款", "放款", "网贷", "借款", "征信")),
    (Typology.FAKE_GAME_TRADE.value, ("游戏", "装备", "账号", "皮肤", "点券")),
    (Typology.ROMANCE.value, ("网恋", "交友", "男朋友", "女朋友", "恋爱", "婚恋")),
    (Typology.FAKE_BOSS.value, ("领导", "老板", "冒充", "熟人", "同学")),
    (Typology.FAKE_INVESTMENT.value, ("投资", "理财", "炒股", "股票", "收益", "虚拟币")),
]


def keyword_rule(rules: Sequence[tuple[str, tuple[str, ...]]], text: str, fallback: str) -> str:
    """The label of the first rule with a keyword in the text, else `fallback`."""
    for label, words in rules:
        if any(w in text for w in words):
            return label
    return fallback


def generated(kind: Kind, seed: int, per_label: int, variants: classify.Variants) -> list[LabelledText]:
    """Generated texts of a kind."""
    if kind == "incident":
        return call_texts(seed, per_label, variants)
    return report_narratives(seed, per_label, variants)


def train_models(
    seed: int, *, per_label: int = 150, overrides: Path | None = None
) -> tuple[dict[Kind, TextModel], dict[Kind, int]]:
    """Train both models on one seed's training phrasings and the recorded overrides.

    Returns the models and how many overrides each read.
    """
    models: dict[Kind, TextModel] = {}
    used: dict[Kind, int] = {}
    for kind in classify.KINDS:
        data = generated(kind, seed, per_label, "train")
        extra = classify.read_overrides(overrides, kind)
        texts = [d.text for d in data] + [o.text for o in extra]
        labels = [d.label for d in data] + [o.chosen for o in extra]
        weights = [1.0] * len(data) + [OVERRIDE_WEIGHT] * len(extra)
        models[kind] = classify.train(texts, labels, weights)
        used[kind] = len(extra)
    return models, used


def evaluate(
    train_seed: int, test_seed: int, *, per_label: int = 150, test_per_label: int = 60
) -> dict[str, Any]:
    """Accuracy and macro-F1 of the model and both baselines, trained on `train_seed`'s training phrasings
    and tested on `test_seed`'s held-out phrasings."""
    models, _ = train_models(train_seed, per_label=per_label, overrides=Path("/nonexistent/overrides.jsonl"))
    out: dict[str, Any] = {"train_seed": train_seed, "test_seed": test_seed}
    cases: tuple[tuple[Kind, list[tuple[str, tuple[str, ...]]]], ...] = (
        ("incident", INCIDENT_RULES),
        ("report", REPORT_RULES),
    )
    for kind, rules in cases:
        train = generated(kind, train_seed, per_label, "train")
        test = generated(kind, test_seed, test_per_label, "heldout")
        truth = [t.label for t in test]
        majority = Counter(t.label for t in train).most_common(1)[0][0]
        fallback = "0501" if kind == "incident" else Typology.OTHER.value
        figures: dict[str, Any] = {"train_texts": len(train), "test_texts": len(test)}
        for name, predicted in (
            ("model", models[kind].predict([t.text for t in test])),
            ("majority_class", [majority] * len(test)),
            ("keyword_rules", [keyword_rule(rules, t.text, fallback) for t in test]),
        ):
            acc, f1 = classify.accuracy_and_macro_f1(truth, predicted)
            figures[name] = {"accuracy": round(acc, 4), "macro_f1": round(f1, 4)}
        # For contrast: the same test seed in the phrasings the model was trained on.
        seen = generated(kind, test_seed, test_per_label, "train")
        acc, f1 = classify.accuracy_and_macro_f1(
            [t.label for t in seen], models[kind].predict([t.text for t in seen])
        )
        figures["model_on_seen_phrasings"] = {"accuracy": round(acc, 4), "macro_f1": round(f1, 4)}
        out[kind] = figures
    return out
