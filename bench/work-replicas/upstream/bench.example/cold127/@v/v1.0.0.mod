module bench.example/cold127

go 1.21
