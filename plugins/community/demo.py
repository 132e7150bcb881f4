"""Community demo data for ``crm demo`` (the core's ``crm_demo_data`` hook): three groups with
members, a past event with sign-ups and check-ins (which earn loyalty points when loyalty is on),
upcoming events, and topics with replies.  Written through the services; deterministic (``rng``
only); a second run adds nothing."""
from __future__ import annotations

import datetime as dt

from crm.db import utcnow

from . import services
from .models import CommunityGroup

GROUPS = [
    ("茶友会", "喜欢喝茶的会员每月聚一次，品新茶、聊茶事。", "文明交流，不发广告。"),
    ("杭州 VIP 会员圈", "杭州地区的重要客户，优先参加新品发布和线下沙龙。", "仅限受邀客户。"),
    ("户外徒步兴趣小组", "周末一起走走西湖群山。", "活动前请报名，注意安全。"),
]
EVENTS = [("春茶品鉴会", "门店二楼茶室", 12), ("新品发布沙龙", "西湖区文三路 90 号", 30),
          ("九溪十八涧徒步", "九溪公交站集合", 0)]
TOPICS = [("今年的龙井什么时候到货？", "客户想提前预订明前龙井。",
           ["预计三月底到货，到时通知大家。", "好的，谢谢！"]),
          ("沙龙想听什么话题？", "大家可以在这里提建议。", ["想了解家用净水。"]),
          ("徒步装备推荐", "第一次参加，需要准备什么？", ["登山鞋和雨衣就够了。"])]


def load(app, rng) -> None:
    from crm.accounts.models import User
    from crm.customers.models import Customer
    if CommunityGroup.select().exists():
        return                                   # idempotent, like the core's demo
    users = {u.username: u for u in User.select()}
    admin = users.get("admin") or next(iter(users.values()), None)
    if admin is None:
        return
    staff = [u for name, u in sorted(users.items()) if u.role in ("manager", "sales")] or [admin]
    people = list(Customer.select().where(Customer.deleted_at.is_null()).order_by(Customer.id))
    if len(people) < 6:
        return
    now = utcnow()
    today = now.date()
    for index, (name, description, rules) in enumerate(GROUPS):
        owner = staff[index % len(staff)]
        group = services.create_group(admin, name, description, rules, [owner.id],
                                      now=now - dt.timedelta(days=200))
        chosen = rng.sample(people, min(len(people), rng.randint(8, 14)))
        for position, customer in enumerate(chosen):
            role = "representative" if position == 0 else "member"
            services.add_member(group, customer, role, owner,
                                today - dt.timedelta(days=rng.randint(10, 180)),
                                now=now - dt.timedelta(days=rng.randint(10, 180)))
        title, location, capacity = EVENTS[index]
        # a past event: sign-ups (made before it started), some check-ins and a walk-in
        past_at = now - dt.timedelta(days=rng.randint(7, 40), hours=rng.randint(0, 6))
        past = services.create_event(group, owner, title, past_at, capacity, location,
                                     now=past_at - dt.timedelta(days=30))
        for customer in chosen[:6]:
            services.sign_up(past, customer, owner, now=past_at - dt.timedelta(days=3))
        for customer in chosen[:4]:
            services.check_in(past, customer, owner, now=past_at + dt.timedelta(minutes=10))
        services.check_in(past, chosen[-1], owner, now=past_at + dt.timedelta(minutes=20))
        # an upcoming one, with a few sign-ups
        upcoming = services.create_event(
            group, owner, f"{title}（第二期）", now + dt.timedelta(days=rng.randint(5, 30)),
            capacity, location)
        for customer in chosen[1:4]:
            services.sign_up(upcoming, customer, owner)
        topic_title, body, answers = TOPICS[index]
        topic = services.post_topic(group, owner, chosen[1], topic_title, body,
                                    now=now - dt.timedelta(days=rng.randint(3, 20)))
        for offset, text in enumerate(answers):
            writer = chosen[0] if offset % 2 == 0 else chosen[1]
            services.reply(topic, owner, writer, text,
                           now=topic.created_at + dt.timedelta(hours=offset + 1))
        if index == 0:
            services.moderate_topic(topic, "pin")
