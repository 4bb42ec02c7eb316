"""English and Simplified Chinese, switched by the person, on every host."""

from __future__ import annotations

from .conftest import ALPHA, sign_in


def test_language_switch_turns_the_workspace_into_chinese(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    assert "Welcome, Alpha" in alpha_client.get("/").content.decode()

    response = alpha_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302

    page = alpha_client.get("/").content.decode()
    assert '<html lang="zh-hans"' in page
    assert "欢迎,Alpha" in page
    assert "工作台" in page
    assert "退出登录" in page


def test_public_site_follows_the_browser_language(public_client):
    page = public_client.get("/signup/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "创建您公司的工作空间" in page
    assert "子域名" in page


def test_validation_messages_are_translated(public_client):
    public_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/signup/"})
    response = public_client.post("/signup/", {"subdomain": "-bad", "company_name": "X"})
    page = response.content.decode()
    assert "只能使用小写字母、数字和连字符" in page


def test_crm_pages_are_translated(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    alpha_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = alpha_client.get("/customers/").content.decode()
    assert "还没有客户。" in page or "负责人" in page
    assert "只看我的" in page
    form = alpha_client.get("/leads/new/").content.decode()
    assert "新建线索" in form and "保存" in form


def test_chinese_pages_group_money_by_thousands(alpha, rep, rep_client):
    from django.utils import translation
    from django_tenants.utils import tenant_context

    from .sales.factories import make_opportunity

    with tenant_context(alpha):
        make_opportunity(rep, name="Big deal", amount=1234567)
    rep_client.cookies["django_language"] = "zh-hans"
    html = rep_client.get("/opportunities/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    translation.activate("en")
    assert "1,234,567" in html and "1234567.00" not in html
