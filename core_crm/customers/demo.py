"""Realistic demo data for the demo workspace: teams, people in every role, and hundreds of
accounts, contacts and leads in English and Chinese. Deterministic (seeded) and idempotent."""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction

from core_crm.access.models import Role, Team
from core_crm.sales.demo import seed_sales_demo
from core_crm.users.models import User

from .models import Account, Contact, Lead, PicklistValue, Tag

SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Lin",
    "Luo",
    "Gao",
]
GIVEN = [
    "Wei",
    "Fang",
    "Jing",
    "Lei",
    "Min",
    "Jun",
    "Yan",
    "Hui",
    "Qiang",
    "Li",
    "Tao",
    "Xin",
    "Ping",
    "Hong",
    "Yu",
    "Na",
    "Bo",
    "Chao",
    "Ying",
    "Lan",
]
ZH_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
ZH_GIVEN = ["伟", "芳", "静", "磊", "敏", "军", "艳", "慧", "强", "丽", "涛", "鑫", "平", "红"]
CITIES = [
    ("Shanghai", "上海"),
    ("Beijing", "北京"),
    ("Shenzhen", "深圳"),
    ("Hangzhou", "杭州"),
    ("Suzhou", "苏州"),
    ("Nanjing", "南京"),
    ("Chengdu", "成都"),
    ("Wuhan", "武汉"),
    ("Ningbo", "宁波"),
    ("Qingdao", "青岛"),
    ("Xiamen", "厦门"),
    ("Tianjin", "天津"),
]
COMPANY_WORDS = [
    "Precision",
    "Valve",
    "Tea",
    "Logistics",
    "Textile",
    "Electric",
    "Machinery",
    "Foods",
    "Pharma",
    "Packaging",
    "Ceramics",
    "Solar",
    "Auto Parts",
    "Retail",
]
ZH_COMPANY_WORDS = [
    "精密",
    "阀门",
    "茶业",
    "物流",
    "纺织",
    "电气",
    "机械",
    "食品",
    "医药",
    "包装",
    "陶瓷",
    "光伏",
    "汽配",
    "商贸",
]
TITLES = [
    "Purchasing manager",
    "General manager",
    "Engineer",
    "Plant manager",
    "采购经理",
    "总经理",
    "工程师",
    "厂长",
    "财务总监",
]

PEOPLE = [
    # email, full name, role key, team
    ("manager.east@demo.example.com", "Chen Jing 陈静", "sales_manager", "East 华东"),
    ("rep.east1@demo.example.com", "Wang Lei 王磊", "sales_rep", "East 华东"),
    ("rep.east2@demo.example.com", "Li Na 李娜", "sales_rep", "East 华东"),
    ("manager.north@demo.example.com", "Zhao Min 赵敏", "sales_manager", "North 华北"),
    ("rep.north1@demo.example.com", "Sun Tao 孙涛", "sales_rep", "North 华北"),
    ("rep.north2@demo.example.com", "Zhou Yan 周艳", "sales_rep", "North 华北"),
    ("marketing@demo.example.com", "Hu Xin 胡鑫", "marketing", None),
    ("service@demo.example.com", "Guo Ping 郭平", "service_agent", None),
    ("viewer@demo.example.com", "Ma Hong 马红", "read_only", None),
]


def seed_demo_data(*, password: str, accounts: int = 300, seed: int = 2026) -> bool:
    """Fill the current (demo) workspace once, then its sales side (an opportunity for every
    two accounts); returns False if there was nothing to add. A demo workspace made before
    the sales side existed gets its sales data on the next run."""
    if Account.objects.exists():
        return seed_sales_demo(seed=seed, opportunities=max(1, accounts // 2))
    rng = random.Random(seed)
    with transaction.atomic():
        roles = {role.key: role for role in Role.objects.all()}
        teams: dict[str, Team] = {}
        owners: list[User] = []
        for email, name, role_key, team_name in PEOPLE:
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, password=password, full_name=name, role=roles[role_key]
            )
            if team_name:
                team = teams.get(team_name) or Team.objects.get_or_create(name=team_name)[0]
                teams[team_name] = team
                team.members.add(user)
            if role_key in ("sales_rep", "sales_manager"):
                owners.append(user)
        # The demo company works in China: its people's times (pages, reminders, calendar).
        User.objects.filter(time_zone="UTC").update(time_zone="Asia/Shanghai")
        values = {
            kind: list(PicklistValue.objects.filter(picklist=kind, is_active=True))
            for kind in (
                "industry",
                "source",
                "account_status",
                "relationship",
                "intention",
                "contact_role",
            )
        }
        tags = [
            Tag.objects.get_or_create(name=n)[0]
            for n in ("Trade fair 2026", "VIP", "展会名片", "Key account")
        ]

        def pick(kind: str) -> PicklistValue:
            return rng.choice(values[kind])

        account_rows: list[Account] = []
        for i in range(accounts):
            city, city_zh = rng.choice(CITIES)
            chinese = i % 2 == 1
            if chinese:
                name = f"{city_zh}{rng.choice(ZH_COMPANY_WORDS)}有限公司{i}"
            else:
                name = f"{city} {rng.choice(COMPANY_WORDS)} Co. {i}"
            account_rows.append(
                Account(
                    owner=rng.choice(owners),
                    name=name,
                    kind=rng.choice(
                        ["prospect", "customer", "customer", "partner", "distributor", "retailer"]
                    ),
                    industry=pick("industry"),
                    source=pick("source"),
                    status=pick("account_status"),
                    relationship=pick("relationship"),
                    intention=pick("intention"),
                    value_class=rng.choice("AABBBCCCC"),
                    city=city_zh if chinese else city,
                    country="CN",
                    phone=f"+86 {rng.randint(10, 999)} {rng.randint(1000, 9999)}"
                    f" {rng.randint(1000, 9999)}",
                    website=f"https://www.example-{i}.cn",
                    annual_revenue=Decimal(rng.randint(1, 5000)) * 100000,
                    employee_count=rng.randint(5, 5000),
                )
            )
        created_accounts = Account.objects.bulk_create(account_rows)
        contact_rows: list[Contact] = []
        for account in created_accounts:
            for _ in range(rng.randint(1, 3)):
                chinese = rng.random() < 0.5
                if chinese:
                    first, last = rng.choice(ZH_GIVEN), rng.choice(ZH_SURNAMES)
                else:
                    first, last = rng.choice(GIVEN), rng.choice(SURNAMES)
                contact_rows.append(
                    Contact(
                        owner=account.owner,
                        account=account,
                        first_name=first,
                        last_name=last,
                        title=rng.choice(TITLES),
                        role=pick("contact_role"),
                        email=f"{first.lower() if not chinese else 'c'}{len(contact_rows)}"
                        f"@example-{account.pk}.cn",
                        phone=f"+86 1{rng.randint(30, 99)} {rng.randint(1000, 9999)} "
                        f"{rng.randint(1000, 9999)}",
                        do_not_email=rng.random() < 0.1,
                    )
                )
        Contact.objects.bulk_create(contact_rows)
        lead_rows: list[Lead] = []
        for i in range(int(accounts * 1.3)):
            city, city_zh = rng.choice(CITIES)
            chinese = i % 3 == 0
            lead_rows.append(
                Lead(
                    owner=rng.choice(owners),
                    first_name=rng.choice(ZH_GIVEN if chinese else GIVEN),
                    last_name=rng.choice(ZH_SURNAMES if chinese else SURNAMES),
                    company=(
                        f"{city_zh}{rng.choice(ZH_COMPANY_WORDS)}公司"
                        if chinese
                        else f"{city} {rng.choice(COMPANY_WORDS)} Ltd"
                    ),
                    city=city_zh if chinese else city,
                    source=pick("source"),
                    status=rng.choice(["new", "new", "working", "working", "qualified"]),
                    rating=rng.choice(["hot", "warm", "cold", ""]),
                    score=rng.randint(0, 100),
                    email=f"lead{i}@example-lead.cn",
                )
            )
        created_leads = Lead.objects.bulk_create(lead_rows)
        for account in created_accounts[::7]:
            account.tags.add(rng.choice(tags))
        for lead in created_leads[::5]:
            lead.tags.add(tags[0])
        seed_sales_demo(seed=seed, opportunities=max(1, accounts // 2))
    return True
