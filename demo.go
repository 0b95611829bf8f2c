package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"jianfu/models"
	"jianfu/models/registry"
)

// loadDemo loads the demo county once and prints the demo accounts.
func loadDemo(ctx context.Context, store *models.Store, out io.Writer) error {
	users, err := store.LoadDemo(ctx)
	if err != nil {
		return err
	}
	if users != nil {
		if err := registry.New(store).LoadDemo(ctx); err != nil {
			return err
		}
	}
	if users == nil {
		fmt.Fprintln(out, "演示数据已存在（15个乡镇街道、30个县直部门），账号密码见首次加载时的输出；可用 jianfu user reset 重设。")
		return nil
	}
	fmt.Fprintln(out, "已加载演示县：15个乡镇街道、30个县直部门、分办规则，以及本年和上年的发文、会议、督查检查、政务APP和工作群备案。演示账号：")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "用户名\t角色\t单位\t密码")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Role, u.Unit, u.Password)
	}
	return tw.Flush()
}
