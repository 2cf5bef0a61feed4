module bench.example/cold289

go 1.21
