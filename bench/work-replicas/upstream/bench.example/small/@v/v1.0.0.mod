module bench.example/small

go 1.21
