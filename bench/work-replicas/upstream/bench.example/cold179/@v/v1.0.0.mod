module bench.example/cold179

go 1.21
