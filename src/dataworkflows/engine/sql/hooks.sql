-- put_hook --
SELECT dw.put_hook_v1(
    %(name)s, %(workflow_name)s, %(inputs)s, %(delivery)s, %(verify_kind)s, %(secret)s,
    %(tolerance_s)s, %(description)s, %(source)s
) AS created

-- list_hooks --
SELECT * FROM dw.list_hooks_v1()

-- get_hook --
SELECT * FROM dw.get_hook_v1(%(name)s)

-- delete_hook --
SELECT dw.delete_hook_v1(%(name)s) AS deleted
