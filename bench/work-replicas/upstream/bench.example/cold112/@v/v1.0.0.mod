module bench.example/cold112

go 1.21
